// The dispatcher: env + stdin → one command → stdout text and exit code. Nothing touches the kernel or ipamd
// before the environment and config are valid.
import { CniCode, CniError, asCniError } from './cni/errors.js';
import { parseEnv, type CniEnv } from './cni/env.js';
import { parseNetConf, type NetConf } from './cni/netconf.js';
import {
  compareVersions,
  LATEST_VERSION,
  SUPPORTED_VERSIONS,
  versionInfo,
  type CniVersion,
} from './cni/version.js';
import type { Deps } from './commands/deps.js';
import { STATUS_DEADLINE_MS } from './commands/deps.js';
import { isUnreachable, socketPath } from './commands/ipam-errors.js';

export interface RunOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

function requireAtLeast(conf: NetConf, min: CniVersion, command: string): void {
  if (compareVersions(conf.cniVersion, min) < 0) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `config version does not allow ${command}`,
      `${command} needs cniVersion ${min} or later; the config says ${conf.cniVersion}`,
    );
  }
}

async function status(conf: NetConf, deps: Deps): Promise<void> {
  requireAtLeast(conf, '1.1.0', 'STATUS');
  const ipam = deps.ipam(conf.ipamdEndpoint);
  try {
    const serving = await ipam.health(STATUS_DEADLINE_MS);
    if (!serving) {
      throw new CniError(
        CniCode.PluginNotAvailableLimitedConnectivity,
        'ipamd reports it cannot assign addresses (no free address and the pool cannot grow)',
        'check /var/log/aws-routed-eni/ipamd.log for subnet or ENI limits',
      );
    }
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw new CniError(
      CniCode.PluginNotAvailable,
      `ipamd is not reachable on ${socketPath(conf.ipamdEndpoint)}: ${e instanceof Error ? e.message : String(e)}`,
      isUnreachable(e)
        ? 'is the aws-node pod running on this node? check /var/log/aws-routed-eni/ipamd.log'
        : 'check /var/log/aws-routed-eni/ipamd.log',
    );
  } finally {
    ipam.close();
  }
}

async function dispatch(env: CniEnv, stdin: string, deps: Deps): Promise<string> {
  if (env.command === 'VERSION') return JSON.stringify(versionInfo());
  const conf = parseNetConf(stdin);
  const logger = deps.logger;
  switch (env.command) {
    case 'ADD': {
      const { cmdAdd } = await import('./commands/add.js');
      return cmdAdd(env, conf, { ...deps, logger });
    }
    case 'DEL': {
      const { cmdDel } = await import('./commands/del.js');
      await cmdDel(env, conf, deps);
      return '';
    }
    case 'CHECK': {
      requireAtLeast(conf, '0.4.0', 'CHECK');
      const [{ cmdCheck }, { netlinkView }] = await Promise.all([
        import('./commands/check.js'),
        import('./inspect-netlink.js'),
      ]);
      let view: ReturnType<typeof netlinkView> | undefined;
      try {
        await cmdCheck(env, conf, deps, () => Promise.resolve((view = netlinkView(env.netns))));
      } finally {
        view?.close();
      }
      return '';
    }
    case 'STATUS':
      await status(conf, deps);
      return '';
    case 'GC': {
      requireAtLeast(conf, '1.1.0', 'GC');
      const { cmdGc } = await import('./commands/gc.js');
      await cmdGc(conf, deps);
      return '';
    }
  }
}

/** Runs one CNI invocation. Never throws: failures become the CNI error JSON and exit code 1. */
export async function run(
  environ: Readonly<Record<string, string | undefined>>,
  readStdin: () => Promise<string>,
  deps: (env: CniEnv, stdin: string) => Deps,
): Promise<RunOutput> {
  let version: string = LATEST_VERSION;
  try {
    const env = parseEnv(environ);
    if (!env) {
      return {
        stdout: '',
        stderr: `AWS CNI ${deps({} as CniEnv, '').version}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`,
        exitCode: 0,
      };
    }
    const stdin = env.command === 'VERSION' ? '' : await readStdin();
    try {
      const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
      if (typeof v === 'string' && v) version = v;
    } catch {
      // reported by parseNetConf
    }
    const d = deps(env, stdin);
    const out = await dispatch(env, stdin, d);
    return { stdout: env.command === 'VERSION' ? `${out}\n` : out, stderr: '', exitCode: 0 };
  } catch (e) {
    const err = asCniError(e);
    return { stdout: JSON.stringify(err.toJSON(version), null, 4), stderr: '', exitCode: 1 };
  }
}
