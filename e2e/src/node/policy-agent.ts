// The network policy agent of a simulated node, as the aws-node DaemonSet's third container runs it: the real
// executable (dist/bin/aws-network-policy-agent, a name of the multi-call aws-k8s-agent) with the manifest's flags
// and --enable-network-policy=true, inside the node netns (nsenter --net: IMDS, the Kubernetes stand-in and ipamd
// are reached as on a node). Per node: its own bpffs, mounted privately under the node's directory (never the
// host's /sys/fs/bpf), its own npa socket (the conflist's npaEndpoint names it, see packages/cni-plugin/README.md),
// and its own log. Ready = its /readyz answers 200 inside the node netns (PolicyEndpoints listed, pins in place).
// stop(): SIGTERM (SIGKILL after 3 s), then the bpffs is unmounted; every step also runs after a failed start.
// kill9() and restart(): a crash of the agent and the kubelet starting it again on the same bpffs (pins kept).
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnOwned } from '../harness/owner.js';

export interface PolicyAgentOptions {
  /** dist/bin/aws-network-policy-agent. */
  binary: string;
  netnsPath: string;
  /** The node's state directory: npa.sock, bpffs/, network-policy-agent.log go there. */
  dir: string;
  ipamdSocket: string;
  env: Record<string, string>;
  /** --enable-ipv6: true in an IPv6 cluster (ENABLE_IPv6=true), whose agent enforces on IPv6 only. */
  enableIpv6?: boolean;
  readyTimeoutMs?: number;
}

/**
 * What the manifest's container gives the agent (deploy/aws-k8s-cni.yaml), with network policy on; the manifest's
 * --enable-ipv6=false is the IPv4 cluster's value (manifestFlags gives an IPv6 cluster's).
 */
export const MANIFEST_FLAGS = [
  '--enable-ipv6=false',
  '--enable-network-policy=true',
  '--enable-cloudwatch-logs=false',
  '--enable-policy-event-logs=false',
  '--metrics-bind-addr=:8162',
  '--health-probe-bind-addr=:8163',
  '--conntrack-cache-cleanup-period=300',
];

/** The manifest's flags, --enable-ipv6 matching the cluster's ENABLE_IPv6 (as an IPv6 cluster's DaemonSet sets it). */
export const manifestFlags = (enableIpv6: boolean): string[] =>
  MANIFEST_FLAGS.map((f) => (f.startsWith('--enable-ipv6=') ? `--enable-ipv6=${enableIpv6}` : f));

export class PolicyAgentProcess {
  readonly socket: string;
  readonly bpffs: string;
  readonly log: string;
  private readonly out: string;
  private child: ChildProcess | undefined;
  private mounted = false;

  constructor(readonly o: PolicyAgentOptions) {
    this.socket = join(o.dir, 'npa.sock');
    this.bpffs = join(o.dir, 'bpffs');
    this.log = join(o.dir, 'network-policy-agent.log');
    this.out = join(o.dir, 'network-policy-agent.out');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (!existsSync(this.o.binary)) throw new Error(`${this.o.binary} is missing; run \`pnpm build\` first`);
    mkdirSync(this.bpffs, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', this.bpffs]);
    this.mounted = true;
    await this.spawnAgent();
  }

  /**
   * kill -9 of the agent process (every thread of it), as a crash or an OOM kill would end it; the bpffs and
   * its pins stay. Resolves once the process is gone.
   */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      throw new Error('the agent is not running');
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts the agent again on the same bpffs (after kill9 or stop's SIGTERM), as the kubelet restarts it. */
  async restart(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null)
      throw new Error('the agent is still running');
    if (!this.mounted) throw new Error('restart: the bpffs is not mounted (start() first)');
    await this.spawnAgent();
  }

  private async spawnAgent(): Promise<void> {
    const out = openSync(this.out, 'a');
    const child = spawnOwned(
      'nsenter',
      [
        `--net=${this.o.netnsPath}`,
        this.o.binary,
        ...manifestFlags(this.o.enableIpv6 ?? false),
        `--log-file=${this.log}`,
        `--npa-socket=${this.socket}`,
        `--ipamd-socket=${this.o.ipamdSocket}`,
        `--bpffs-root=${this.bpffs}`,
      ],
      { stdio: ['ignore', out, out], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...this.o.env } },
    );
    this.child = child;
    closeSync(out);
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`aws-network-policy-agent exited (${child.exitCode}): ${this.tail()}`);
      if (await this.ready()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`aws-network-policy-agent did not become ready; see ${this.log} and ${this.out}`);
  }

  /** GET /readyz on the agent's health port, from inside the node netns. */
  async ready(): Promise<boolean> {
    try {
      await promisify(execFile)(
        'nsenter',
        [`--net=${this.o.netnsPath}`, 'curl', '-sf', '-m', '1', 'http://127.0.0.1:8163/readyz'],
        { timeout: 3_000 },
      );
      return true;
    } catch {
      return false;
    }
  }

  private tail(): string {
    for (const f of [this.out, this.log])
      if (existsSync(f)) {
        const t = readFileSync(f, 'utf8').trim();
        if (t) return t.split('\n').slice(-5).join(' | ');
      }
    return 'no output';
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(t);
    }
    if (this.mounted) {
      execFileSync('umount', ['-l', this.bpffs]);
      this.mounted = false;
    }
  }
}
