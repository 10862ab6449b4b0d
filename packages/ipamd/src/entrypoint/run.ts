// The aws-vpc-cni entrypoint (docs/architecture.md#node-bootstrap): install aws-cni/egress-cni before ipamd
// starts, start aws-k8s-agent, wait until its gRPC health is SERVING (bounded: VPC_CNI_HEALTH_WAIT_SECONDS),
// then write 10-aws.conflist atomically — which is what tells kubelet the node's network is ready — and
// supervise: the entrypoint exits when the agent does (0 → 0, else 1), leaving the conflist in place;
// SIGTERM/SIGINT are forwarded.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EntrypointConfig, loadEntrypointConfig } from '@vpc-cni/shared/config';
import { describeValue } from '@vpc-cni/shared/describe';
import { isIPv4, isIPv6 } from '@vpc-cni/shared/ipmath';
import { endpointTarget, isServing } from '@vpc-cni/shared/rpc';
import { installBinaries } from '@vpc-cni/init/install';
import { imdsGet } from '@vpc-cni/init/imds';
import { StartupError, imdsUnreachable, startupFailureLine } from '@vpc-cni/shared/startup';
import { type ConflistInputs, renderConflist } from './conflist.js';

export interface EntrypointIo {
  say(line: string): void;
  /** Where aws-cni and egress-cni are taken from when VPC_CNI_SOURCE_BIN_DIR is unset. */
  execDir: string;
  /** The agent command (argv); the multi-call executable by default. */
  agentCommand: string[];
  /** Pass-through of the agent's output (default: inherit). */
  agentStdio?: 'inherit' | 'ignore';
}

/** The IMDS base URL: an http(s) URL, or a clear error naming the variable (before any request or timer). */
export function imdsEndpoint(env: Readonly<Record<string, string | undefined>>): string {
  const endpoint = env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] ?? 'http://169.254.169.254';
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new Error(
      `AWS_EC2_METADATA_SERVICE_ENDPOINT is ${describeValue(endpoint)}, not an http(s) URL; unset it for http://169.254.169.254`,
    );
  return endpoint.replace(/\/+$/, '');
}

/** An IMDS answer that goes into the conflist must be an address of the family asked for. */
async function imdsAddress(path: string, family: 4 | 6, endpoint: string): Promise<string> {
  const text = await imdsGet(path, { endpoint, attempts: 10 }).catch((e: unknown) => {
    throw imdsUnreachable(endpoint, e);
  });
  if (family === 4 ? isIPv4(text) : isIPv6(text)) return text;
  throw new Error(`IMDS ${path} answered ${describeValue(text)}, not an IPv${family} address`);
}

async function nodeInputs(
  cfg: EntrypointConfig,
  endpoint: string,
  io: EntrypointIo,
): Promise<ConflistInputs> {
  if (!cfg.ENABLE_IPv6 && !cfg.ENABLE_V6_EGRESS) return { nodeIp: '', nodeHasIpv6: false };
  if (cfg.ENABLE_IPv6)
    return { nodeIp: await imdsAddress('meta-data/local-ipv4', 4, endpoint), nodeHasIpv6: true };
  try {
    return { nodeIp: await imdsAddress('meta-data/ipv6', 6, endpoint), nodeHasIpv6: true };
  } catch (e) {
    io.say(`warning: node has no IPv6 address (${(e as Error).message}); IPv6 egress disabled`);
    return { nodeIp: '', nodeHasIpv6: false };
  }
}

async function waitServing(socket: string, agent: ChildProcess, boundMs: number): Promise<void> {
  // 0 = wait as long as it takes (the documented default, as upstream).
  const until = boundMs > 0 ? performance.now() + boundMs : Infinity;
  while (performance.now() < until) {
    if (agent.exitCode !== null || agent.signalCode !== null)
      throw new Error(`aws-k8s-agent exited before serving (${agent.exitCode ?? agent.signalCode})`);
    if (await isServing(`unix://${socket}`, 1_000)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`aws-k8s-agent did not report SERVING on ${socket} within ${boundMs / 1000} s`);
}

export function writeConflist(dir: string, conflist: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const dst = join(dir, '10-aws.conflist');
  const tmp = `${dst}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(conflist, null, 2)}\n`, { mode: 0o644 });
  chmodSync(tmp, 0o644);
  renameSync(tmp, dst);
  return dst;
}

/** Runs until the agent exits; resolves with the entrypoint's exit code. */
export async function runEntrypoint(
  env: Readonly<Record<string, string | undefined>>,
  io: EntrypointIo,
): Promise<number> {
  const cfg = loadEntrypointConfig(env);
  // The socket is dialled below and written into the conflist for aws-cni: refuse one it cannot reach.
  const socket = endpointTarget(`unix://${cfg.VPC_CNI_IPAMD_SOCKET}`);
  if ('error' in socket)
    throw new Error(
      `VPC_CNI_IPAMD_SOCKET is ${describeValue(cfg.VPC_CNI_IPAMD_SOCKET)}: ${socket.error}; unset it for /var/run/aws-node/ipamd.sock`,
    );
  const imds = cfg.ENABLE_IPv6 || cfg.ENABLE_V6_EGRESS ? imdsEndpoint(env) : '';
  const src = cfg.VPC_CNI_SOURCE_BIN_DIR || io.execDir;
  for (const b of installBinaries(src, cfg.HOST_CNI_BIN_PATH, ['aws-cni', 'egress-cni']))
    io.say(`installed ${b.name} into ${cfg.HOST_CNI_BIN_PATH}`);
  const inputs = await nodeInputs(cfg, imds, io);

  const [cmd, ...args] = io.agentCommand as [string, ...string[]];
  const agent = spawn(cmd, args, { stdio: io.agentStdio ?? 'inherit', env: { ...env } });
  const exited = new Promise<number>((resolve) => agent.once('exit', (code) => resolve(code === 0 ? 0 : 1)));
  const forward = (sig: NodeJS.Signals) => () => agent.kill(sig);
  const onTerm = forward('SIGTERM');
  const onInt = forward('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    await Promise.race([
      waitServing(cfg.VPC_CNI_IPAMD_SOCKET, agent, cfg.VPC_CNI_HEALTH_WAIT_SECONDS * 1000),
      exited.then((code) => {
        throw new StartupError(
          `aws-k8s-agent exited with ${code} before serving`,
          'its "cannot start" line above names the cause and the remedy',
        );
      }),
    ]);
    const file = writeConflist(cfg.HOST_CNI_CONFDIR_PATH, renderConflist(cfg, inputs));
    io.say(`ipamd is serving; wrote ${file}`);
    const code = await exited;
    io.say(`aws-k8s-agent exited; exiting with ${code} (conflist left in place)`);
    return code;
  } catch (e) {
    io.say(startupFailureLine('aws-vpc-cni', e));
    if (agent.exitCode === null) agent.kill('SIGTERM');
    return 1;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}
