// Kernel-test harness: throwaway netns, a grpc server playing ipamd with canned replies, and a runner that
// executes aws-cni the way containerd does (env + stdin, inside the "host" netns).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RpcServer, ServingStatus } from '@vpc-cni/shared/rpc-server';
import {
  AddNetworkReply,
  CNIBackend,
  CNIGarbageCollector,
  DelNetworkReply,
  GarbageCollectReply,
  type GarbageCollectRequest,
  GrpcStatus,
  RpcError,
  type AddNetworkRequest,
  type DelNetworkRequest,
} from '@vpc-cni/shared/rpc';

const ROOT = resolve(import.meta.dirname, '../../..');
const SEA = join(ROOT, 'dist/bin/aws-cni');

export function uniq(purpose: string): string {
  return `vct-${purpose}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function sh(args: string[], netns?: string): string {
  const argv = netns ? ['netns', 'exec', netns, ...args] : args.slice(1);
  return execFileSync(netns ? 'ip' : (args[0] ?? 'true'), argv, { encoding: 'utf8' });
}

/** `ip -j ...` in a netns, parsed. */
export function ipj<T = Record<string, unknown>>(netns: string, args: string[]): T[] {
  const out = execFileSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8' }).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

export function addNetns(name: string): string {
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return `/var/run/netns/${name}`;
}

export function delNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

type AddPartial = Parameters<typeof AddNetworkReply.fromPartial>[0];
type DelPartial = Parameters<typeof DelNetworkReply.fromPartial>[0];
export type AddHandler = (req: AddNetworkRequest) => AddPartial | Error;
export type DelHandler = (req: DelNetworkRequest) => DelPartial | Error;

export class FakeIpamd {
  readonly dir = mkdtempSync(join(tmpdir(), 'vct-ipamd-'));
  readonly socket = join(this.dir, 'ipamd.sock');
  readonly adds: AddNetworkRequest[] = [];
  readonly dels: DelNetworkRequest[] = [];
  onAdd: AddHandler = () => new RpcError(GrpcStatus.INTERNAL, 'no canned reply', 'AddNetwork');
  onDel: DelHandler = () => new RpcError(GrpcStatus.UNKNOWN, 'datastore: unknown pod', 'DelNetwork');
  readonly gcs: GarbageCollectRequest[] = [];
  /** GC reply; undefined = the service is not registered (an upstream ipamd). */
  onGc: ((req: GarbageCollectRequest) => Parameters<typeof GarbageCollectReply.fromPartial>[0]) | undefined =
    undefined;
  private server = new RpcServer({ unixSocket: this.socket });

  async start(): Promise<void> {
    this.server.addService(CNIBackend, {
      AddNetwork: async (req) => {
        this.adds.push(req);
        const r = this.onAdd(req);
        if (r instanceof Error) throw r;
        return AddNetworkReply.fromPartial({ Success: true, ...r });
      },
      DelNetwork: async (req) => {
        this.dels.push(req);
        const r = this.onDel(req);
        if (r instanceof Error) throw r;
        return DelNetworkReply.fromPartial({ Success: true, ...r });
      },
    });
    this.server.addService(CNIGarbageCollector, {
      GarbageCollect: async (req) => {
        this.gcs.push(req);
        if (!this.onGc) throw new RpcError(GrpcStatus.UNIMPLEMENTED, 'GC not served', 'GarbageCollect');
        return GarbageCollectReply.fromPartial({ Success: true, ...this.onGc(req) });
      },
    });
    this.server.health.set('grpc.health.v1.aws-node', ServingStatus.SERVING);
    await this.server.start();
  }

  setHealth(s: ServingStatus): void {
    this.server.health.set('grpc.health.v1.aws-node', s);
  }

  async stop(): Promise<void> {
    await this.server.stop(1_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface PluginRun {
  code: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

/** Runs a plugin binary inside `hostNs` with the given CNI env and stdin. */
export function runPlugin(
  hostNs: string,
  env: Record<string, string>,
  stdin: string,
  bin: string[] = existsSync(SEA)
    ? [SEA]
    : [process.execPath, '--import', 'tsx', join(ROOT, 'packages/cni-plugin/test/bin.ts')],
): Promise<PluginRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('ip', ['netns', 'exec', hostNs, ...bin], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      cwd: ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      resolveRun({ code, stdout, stderr, json });
    });
    child.stdin.end(stdin);
  });
}

/** The NetConf containerd would pass for `aws-cni`, pointed at a canned ipamd. */
export function netConf(ipamd: FakeIpamd, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'aws-cni',
    type: 'aws-cni',
    vethPrefix: 'eni',
    mtu: '9001',
    podSGEnforcingMode: 'strict',
    pluginLogFile: `${ipamd.dir}/plugin.log`,
    pluginLogLevel: 'debug',
    ipamdEndpoint: `unix://${ipamd.socket}`,
    ...extra,
  };
}

/** The CNI environment containerd would set for one pod command. */
export function cniEnv(
  command: string,
  cid: string,
  netns: string,
  pod: string,
  ns = 'default',
): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: cid,
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${ns};K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=${cid};K8S_POD_UID=uid-${cid}`,
  };
}
