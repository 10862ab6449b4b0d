// The fuzzer's world: a throwaway "host" netns, the real ipamd (dist/bin/aws-k8s-agent with static ENIs) that can
// be stopped and started again, pod netns, and aws-cni runs as containerd makes them. Everything is removed by
// name or PID in close().
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isServing } from '@vpc-cni/shared/rpc';
import { addNetns, delNetns, ipj, uniq } from '../harness.js';
import type { Invocation } from './oracle.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const AGENT = join(ROOT, 'dist/bin/aws-k8s-agent');
/** FUZZ_PLUGIN runs another aws-cni build (e.g. an older one, to see what the suite finds in it). */
const PLUGIN = process.env['FUZZ_PLUGIN'] ?? join(ROOT, 'dist/bin/aws-cni');
/** A run that takes longer than this has hung (an ADD waits at most ipamdTimeoutMs, which the fuzzer keeps low). */
const RUN_LIMIT_MS = 20_000;

/** The node's ENIs: two addresses on the primary, two on a second ENI (its own route table 2). */
export const ENIS = [
  { id: 'eni-fuzz0', deviceNumber: 0, ips: ['10.77.0.10', '10.77.0.11'] },
  { id: 'eni-fuzz1', deviceNumber: 1, ips: ['10.77.1.10', '10.77.1.11'] },
];
export const POOL = ENIS.flatMap((e) => e.ips);

export class World {
  readonly hostNs = uniq('fzh');
  readonly dir = mkdtempSync(join(tmpdir(), 'vct-fuzz-'));
  readonly socket = join(this.dir, 'ipamd.sock');
  private ipamd: ChildProcess | undefined;
  private readonly pods = new Set<string>();

  static check(): string | undefined {
    if (!existsSync(AGENT) || !existsSync(PLUGIN)) return 'dist/bin is missing; run `pnpm build` first';
    return undefined;
  }

  constructor() {
    addNetns(this.hostNs);
  }

  get ipamdUp(): boolean {
    return this.ipamd !== undefined;
  }

  async startIpamd(): Promise<void> {
    const child = spawn('nsenter', [`--net=/run/netns/${this.hostNs}`, AGENT], {
      stdio: 'ignore',
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        VPC_CNI_STATIC_ENIS: JSON.stringify(ENIS),
        VPC_CNI_IPAMD_SOCKET: this.socket,
        AWS_VPC_K8S_CNI_BACKING_STORE: join(this.dir, 'ipam.json'),
        AWS_VPC_K8S_CNI_LOG_FILE: join(this.dir, 'ipamd.log'),
        AWS_VPC_K8S_CNI_LOGLEVEL: 'info',
        IP_COOLDOWN_PERIOD: '0', // released addresses go straight to the next pod: address reuse is the point
      },
    });
    this.ipamd = child;
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null)
        throw new Error(`ipamd exited (${child.exitCode}); see ${this.dir}/ipamd.log`);
      if (await isServing(`unix://${this.socket}`, 1_000)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('ipamd did not become SERVING');
  }

  async stopIpamd(): Promise<void> {
    const child = this.ipamd;
    this.ipamd = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }

  /** Addresses ipamd has persisted as allocated (address → container id). */
  allocations(): Map<string, string> {
    const file = join(this.dir, 'ipam.json');
    if (!existsSync(file)) return new Map();
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      allocations?: { containerID: string; ipv4?: string }[];
    };
    return new Map((doc.allocations ?? []).map((a) => [a.ipv4 ?? '', a.containerID]));
  }

  newPodNs(): { name: string; path: string } {
    const name = uniq('fzp');
    this.pods.add(name);
    return { name, path: addNetns(name) };
  }

  dropPodNs(name: string): void {
    delNetns(name);
    this.pods.delete(name);
  }

  /** Runs aws-cni inside the host netns with exactly this environment and stdin. */
  run(env: Record<string, string>, stdin: string): Promise<Invocation> {
    return new Promise((done, reject) => {
      const child = spawn('nsenter', [`--net=/run/netns/${this.hostNs}`, PLUGIN], {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      const t = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, RUN_LIMIT_MS);
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin.on('error', () => {}); // the plugin may exit before reading a huge stdin
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(t);
        done({ command: env['CNI_COMMAND'] ?? '', code, signal, stdout, stderr, timedOut });
      });
      child.stdin.end(stdin);
    });
  }

  /** Host state the pods may own: /32 routes in main, rules 512 and 1536, links other than lo. */
  hostState(): { routes: string[]; rules: string[]; links: string[] } {
    const routes = ipj<{ dst: string; dev: string }>(this.hostNs, ['-4', 'route', 'show', 'table', 'all'])
      .filter((r) => r.dst !== 'default' && !r.dst.startsWith('127.') && r.dst !== 'local')
      .map((r) => `${r.dst} dev ${r.dev}`);
    const rules = ipj<{ priority: number; src?: string; dst?: string; table: string }>(this.hostNs, [
      '-4',
      'rule',
      'show',
    ])
      .filter((r) => r.priority === 512 || r.priority === 1536)
      .map((r) => `${r.priority} ${r.src && r.src !== 'all' ? `from ${r.src}` : `to ${r.dst}`} ${r.table}`);
    const links = ipj<{ ifname: string }>(this.hostNs, ['link', 'show'])
      .map((l) => l.ifname)
      .filter((n) => n !== 'lo');
    return { routes: routes.sort(), rules: rules.sort(), links: links.sort() };
  }

  /** The pod side: eth0's addresses and the default gateway, or undefined when the netns has no eth0. */
  podState(ns: string): { addrs: string[]; gw?: string } | undefined {
    const eth0 = ipj<{ addr_info: { local: string; family: string }[] }>(ns, ['addr', 'show']).find(
      (l) => (l as { ifname?: string }).ifname === 'eth0',
    );
    if (!eth0) return undefined;
    const gw = ipj<{ dst: string; gateway?: string }>(ns, ['-4', 'route', 'show']).find(
      (r) => r.dst === 'default',
    )?.gateway;
    return {
      addrs: eth0.addr_info.filter((a) => a.family === 'inet').map((a) => a.local),
      ...(gw ? { gw } : {}),
    };
  }

  async close(): Promise<void> {
    await this.stopIpamd();
    for (const p of this.pods) delNetns(p);
    delNetns(this.hostNs);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
