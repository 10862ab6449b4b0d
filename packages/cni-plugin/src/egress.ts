// egress-cni: chained after aws-cni in every 10-aws.conflist (same executable, picked by the name it is called
// by). Enabled, it gives IPv6 pods IPv4 egress (v4if0, 169.254.172.0/22, SNAT to the node's IPv4) or IPv4 pods
// IPv6 egress (v6if0, fd00::ac:00/118, SNAT to the node's IPv6); disabled it is transparent (ADD prints the
// prevResult in the config's version, DEL/CHECK succeed). See the package README, "egress-cni".
import { existsSync } from 'node:fs';
import { CniCode, CniError } from './cni/errors.js';
import { parseEnv } from './cni/env.js';
import { versionInfo } from './cni/version.js';
import type { EgressDeps } from './egress/commands.js';

export interface EgressIo {
  env: Readonly<Record<string, string | undefined>>;
  stdin: () => Promise<string>;
  /** Production adapters unless a test passes its own. */
  deps?: (
    conf: { pluginLogFile: string; pluginLogLevel: string },
    containerId: string,
  ) => Promise<EgressDeps>;
}

/** Returns what to print and the exit code. Never throws. */
export async function runEgress(io: EgressIo): Promise<{ out: string; code: number }> {
  let version = '1.1.0';
  try {
    const env = parseEnv(io.env);
    if (!env)
      throw new CniError(
        CniCode.InvalidEnv,
        'CNI_COMMAND is not set',
        'egress-cni is run by a container runtime',
      );
    if (env.command === 'VERSION') return { out: JSON.stringify(versionInfo()), code: 0 };
    const stdin = await io.stdin();
    const { parseEgressConf } = await import('./egress/conf.js');
    try {
      const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
      if (typeof v === 'string' && v.length <= 16) version = v;
    } catch {
      // reported by parseEgressConf
    }
    const conf = parseEgressConf(stdin);
    version = conf.cniVersion;
    if (env.command === 'GC' || env.command === 'STATUS') return { out: '', code: 0 }; // nothing to collect
    const commands = await import('./egress/commands.js');
    // Disabled: transparent, without loading adapters or touching the kernel.
    if (!conf.enabled) return { out: env.command === 'ADD' ? commands.egressPassThrough(conf) : '', code: 0 };
    const deps = await (io.deps ?? realEgressDeps)(conf, env.containerId);
    switch (env.command) {
      case 'ADD':
        return { out: await commands.egressAdd(env, conf, deps), code: 0 };
      case 'DEL':
        await commands.egressDel(env, conf, deps);
        return { out: '', code: 0 };
      case 'CHECK':
        await commands.egressCheck(env, conf, deps);
        return { out: '', code: 0 };
    }
  } catch (e) {
    const err =
      e instanceof CniError
        ? e
        : new CniError(CniCode.Internal, `egress-cni: ${e instanceof Error ? e.message : String(e)}`);
    return { out: JSON.stringify(err.toJSON(version)), code: 1 };
  }
}

async function realEgressDeps(
  conf: { pluginLogFile: string; pluginLogLevel: string },
  containerId: string,
): Promise<EgressDeps> {
  const [{ createFileLogger }, { randomMac }, { realEgressExecutor }, { HostLocalStore }, { observeEgress }] =
    await Promise.all([
      import('./log.js'),
      import('./deps-real.js'),
      import('./egress/exec.js'),
      import('./egress/ipam.js'),
      import('./egress/check.js'),
    ]);
  const level = (['debug', 'info', 'warn', 'error', 'fatal'] as const).find((l) => l === conf.pluginLogLevel);
  // iptables tools are found on PATH; a runtime may start plugins with an empty environment.
  process.env['PATH'] ??= '/usr/sbin:/usr/bin:/sbin:/bin';
  // Kernel tests inject a failure at the n-th operation (never set in production).
  const failAt = Number(process.env['EGRESS_CNI_TEST_FAIL_AT_OP'] ?? 0);
  return {
    logger: createFileLogger(conf.pluginLogFile, level ?? 'debug', { caller: 'egress-cni', containerId }),
    executor: () => realEgressExecutor(Number.isInteger(failAt) ? failAt : 0),
    ipam: (dataDir, network) => new HostLocalStore(dataDir, network),
    randomMac,
    randomVethName: () => `veth${randomMac().replace(/:/g, '').slice(4)}`,
    netnsExists: (p) => existsSync(p),
    observe: observeEgress,
  };
}
