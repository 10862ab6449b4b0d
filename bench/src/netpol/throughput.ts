// The datapath part of `pnpm bench netpol`: TCP throughput pod → pod through a node netns, with the server
// pod under one policy of 1,000 CIDRs × 24 TCP ports enforced by the eBPF datapath, against no policy and
// against the equivalent iptables rule set (a chain for the pod: ESTABLISHED accepted first, then 24,000
// CIDR × port ACCEPTs, then DROP), each in its own node netns, measured interleaved in the same run. Exported as a function so the
// agent's latency fields can be merged into one JSON line (netpol.ts).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  EbpfDatapath,
  PodState,
  PROTO_TCP,
  enableRunStats,
  progRunStats,
  type NpEntry,
} from '@vpc-cni/network-policy-agent/datapath';

const here = dirname(fileURLToPath(import.meta.url));
const PORT = 5201;
const CIDRS = 1000;
const PORTS = [...Array.from({ length: 23 }, (_, i) => 6000 + i), PORT];

export interface ThroughputResult {
  tput_none_mbps: number;
  tput_ebpf_mbps: number;
  tput_iptables_mbps: number;
  tput_ratio_vs_none: number;
  tput_ratio_vs_iptables: number;
  /** Measured costs of the eBPF side. */
  ebpf_open_ms: number;
  ebpf_attach_ms: number;
  ebpf_policy_write_ms: number;
  iptables_restore_ms: number;
  rounds: number;
  seconds_per_run: number;
  /** eBPF / no policy and eBPF / iptables per round (runs next to each other in time): the spread is the noise. */
  round_ratios_vs_none: number[];
  round_ratios_vs_iptables: number[];
  /**
   * One more eBPF run with the kernel's BPF run-time statistics on (not part of the ratios: counting costs two
   * clock reads per run): program runs per second (both programs on the server's veth: data packets one way,
   * ACKs the other), ns per run, and the share of one CPU spent in them.
   */
  ebpf_stats: {
    runs_per_s: number;
    ns_per_run: number;
    cpu_share: number;
    mbps: number;
    bytes_per_run: number;
  };
  /** Every run, in Mbit/s, in the order measured (interleaved). */
  samples_mbps: Record<'none' | 'ebpf' | 'iptables', number[]>;
}

type Mode = 'none' | 'ebpf' | 'iptables';

interface Node {
  node: string;
  client: string;
  server: string;
  serverProc?: ChildProcess;
  cleanup(): void;
}

const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });

function makeNode(mode: Mode): Node {
  const id = randomBytes(3).toString('hex');
  const node = `npb-${mode.slice(0, 3)}-n-${id}`;
  const client = `npb-${mode.slice(0, 3)}-c-${id}`;
  const server = `npb-${mode.slice(0, 3)}-s-${id}`;
  const made: string[] = [];
  const n: Node = {
    node,
    client,
    server,
    cleanup() {
      n.serverProc?.kill('SIGKILL');
      for (const ns of made.reverse())
        try {
          sh('ip', ['netns', 'del', ns]);
        } catch {
          /* gone */
        }
    },
  };
  try {
    for (const ns of [node, client, server]) {
      sh('ip', ['netns', 'add', ns]);
      made.push(ns);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const [ns, veth, net] of [
      [client, 'enicli0000001', 1],
      [server, 'enisrv0000001', 2],
    ] as const) {
      sh('ip', ['-n', node, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['-n', node, 'addr', 'add', `10.88.${net}.1/24`, 'dev', veth]);
      sh('ip', ['-n', node, 'link', 'set', veth, 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `10.88.${net}.2/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', `10.88.${net}.1`]);
    }
    return n;
  } catch (e) {
    n.cleanup();
    throw e;
  }
}

/** 1,000 CIDRs (999 elsewhere + the client's /24), each with the same 24 TCP ports. */
export function bigPolicy(): Map<string, NpEntry[]> {
  const entries = PORTS.map((p) => ({ protocol: PROTO_TCP, startPort: p, endPort: 0 }));
  const m = new Map<string, NpEntry[]>();
  for (let i = 0; i < CIDRS - 1; i++) m.set(`10.${100 + (i >> 8)}.${i & 255}.0/24`, entries);
  m.set('10.88.1.0/24', entries);
  return m;
}

function iptablesRules(): string {
  // A per-pod chain, as iptables-based policy engines build it: only traffic to the pod enters it.
  const lines = ['*filter', ':FORWARD ACCEPT [0:0]', ':NPOD-SRV - [0:0]'];
  lines.push('-A FORWARD -o enisrv0000001 -j NPOD-SRV');
  lines.push('-A NPOD-SRV -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT');
  for (const cidr of bigPolicy().keys())
    for (const p of PORTS) lines.push(`-A NPOD-SRV -s ${cidr} -p tcp --dport ${p} -j ACCEPT`);
  lines.push('-A NPOD-SRV -j DROP', 'COMMIT', '');
  return lines.join('\n');
}

async function startServer(n: Node): Promise<void> {
  const p = spawn('ip', [
    'netns',
    'exec',
    n.server,
    'python3',
    '-u',
    join(here, 'tput.py'),
    'server',
    String(PORT),
  ]);
  n.serverProc = p;
  await new Promise<void>((resolve, reject) => {
    p.once('exit', (c) => reject(new Error(`throughput server exited (${c})`)));
    createInterface({ input: p.stdout }).once('line', () => resolve());
  });
}

async function run(n: Node, seconds: number): Promise<number> {
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('ip', [
      'netns',
      'exec',
      n.client,
      'python3',
      join(here, 'tput.py'),
      'client',
      '10.88.2.2',
      String(PORT),
      String(seconds),
    ]);
    let s = '';
    p.stdout.on('data', (d: Buffer) => (s += d.toString()));
    p.once('exit', (c) => (c === 0 ? resolve(s) : reject(new Error(`throughput client exited (${c})`))));
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { bytes: number; seconds: number };
  return (r.bytes * 8) / r.seconds / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export async function measureThroughput(
  opts: { rounds?: number; seconds?: number } = {},
): Promise<ThroughputResult> {
  const rounds = opts.rounds ?? 5;
  const seconds = opts.seconds ?? 2;
  const nodes = {} as Record<Mode, Node>;
  let bpffs: string | undefined;
  let dp: EbpfDatapath | undefined;
  try {
    for (const m of ['none', 'ebpf', 'iptables'] as const) nodes[m] = makeNode(m);
    bpffs = mkdtempSync('/tmp/npb-bpffs-');
    sh('mount', ['-t', 'bpf', 'bpf', bpffs]);
    let t0 = process.hrtime.bigint();
    dp = new EbpfDatapath({
      family: 'ipv4',
      pinRoot: join(bpffs, 'globals/aws'),
      netns: `/var/run/netns/${nodes.ebpf.node}`,
    });
    const openMs = ms(t0);
    t0 = process.hrtime.bigint();
    dp.attach('server@bench', ['enisrv0000001'], { np: PodState.DefaultDeny, cp: PodState.DefaultAllow });
    const attachMs = ms(t0);
    t0 = process.hrtime.bigint();
    dp.writePolicy('server@bench', 'ingress', bigPolicy());
    dp.setState('server@bench', 'ingress', 'np', PodState.PoliciesApplied);
    dp.setState('server@bench', 'egress', 'np', PodState.DefaultAllow);
    const writeMs = ms(t0);
    const rules = iptablesRules();
    t0 = process.hrtime.bigint();
    sh('ip', ['netns', 'exec', nodes.iptables.node, 'iptables-restore'], rules);
    const iptMs = ms(t0);
    for (const m of ['none', 'ebpf', 'iptables'] as const) await startServer(nodes[m]);
    const samples: Record<Mode, number[]> = { none: [], ebpf: [], iptables: [] };
    for (let r = 0; r < rounds; r++)
      for (const m of ['none', 'ebpf', 'iptables'] as const) samples[m].push(await run(nodes[m], seconds));
    const ids = dp.listKeys().flatMap((k) => k.attached.flatMap((a) => [a.ingressProgId, a.egressProgId]));
    const sum = () =>
      ids
        .map(progRunStats)
        .reduce((a, b) => ({ runCount: a.runCount + b.runCount, runTimeNs: a.runTimeNs + b.runTimeNs }));
    const stopStats = enableRunStats();
    let stats: ThroughputResult['ebpf_stats'];
    try {
      const before = sum();
      const t = process.hrtime.bigint();
      const mbps = await run(nodes.ebpf, seconds);
      const wallNs = Number(process.hrtime.bigint() - t);
      const after = sum();
      const runs = Number(after.runCount - before.runCount);
      const ns = Number(after.runTimeNs - before.runTimeNs);
      stats = {
        runs_per_s: Math.round(runs / (wallNs / 1e9)),
        ns_per_run: Math.round(ns / Math.max(1, runs)),
        cpu_share: Math.round((ns / wallNs) * 1e5) / 1e5,
        mbps: Math.round(mbps),
        // payload bytes moved per program run (both directions' runs counted): the GSO packet size seen
        bytes_per_run: Math.round((mbps * 1e6 * seconds) / 8 / Math.max(1, runs)),
      };
    } finally {
      stopStats();
    }
    const none = median(samples.none);
    const ebpf = median(samples.ebpf);
    const ipt = median(samples.iptables);
    const round3 = (x: number) => Math.round(x * 1000) / 1000;
    return {
      tput_none_mbps: Math.round(none),
      tput_ebpf_mbps: Math.round(ebpf),
      tput_iptables_mbps: Math.round(ipt),
      tput_ratio_vs_none: round3(ebpf / none),
      tput_ratio_vs_iptables: round3(ebpf / ipt),
      ebpf_open_ms: Math.round(openMs * 10) / 10,
      ebpf_attach_ms: Math.round(attachMs * 10) / 10,
      ebpf_policy_write_ms: Math.round(writeMs * 10) / 10,
      iptables_restore_ms: Math.round(iptMs * 10) / 10,
      round_ratios_vs_none: samples.ebpf.map((e, i) => round3(e / samples.none[i]!)),
      round_ratios_vs_iptables: samples.ebpf.map((e, i) => round3(e / samples.iptables[i]!)),
      ebpf_stats: stats,
      rounds,
      seconds_per_run: seconds,
      samples_mbps: {
        none: samples.none.map(Math.round),
        ebpf: samples.ebpf.map(Math.round),
        iptables: samples.iptables.map(Math.round),
      },
    };
  } finally {
    dp?.close();
    for (const n of Object.values(nodes)) n.cleanup();
    if (bpffs) {
      try {
        sh('umount', [bpffs]);
      } finally {
        rmSync(bpffs, { recursive: true, force: true });
      }
    }
  }
}
