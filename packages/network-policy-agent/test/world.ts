// A throwaway world for the datapath kernel tests: a "node" netns routing between a "pod" netns (behind a host
// veth named like the plugin's, eni…) and a "peer" netns, a private bpffs mount, and a probe agent (probe.py)
// in the pod and the peer. Everything is removed by cleanup(), also after a failed test.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '../../..');

export interface ProbeReply {
  ok: boolean;
  err?: string;
  count?: number;
  sport?: number;
  success?: number;
  failure?: number;
}

export class Probe {
  private seq = 0;
  private readonly waiting = new Map<number, (r: ProbeReply) => void>();
  private readonly proc: ChildProcessWithoutNullStreams;
  readonly ready: Promise<void>;

  constructor(netns: string) {
    this.proc = spawn('ip', ['netns', 'exec', netns, 'python3', '-u', join(here, 'probe.py')]);
    const rl = createInterface({ input: this.proc.stdout });
    this.ready = new Promise((resolve) => {
      rl.on('line', (l) => {
        const m = JSON.parse(l) as ProbeReply & { seq?: number; ready?: boolean };
        if (m.ready) return resolve();
        const w = this.waiting.get(m.seq ?? -1);
        this.waiting.delete(m.seq ?? -1);
        w?.(m);
      });
    });
  }

  send(cmd: Record<string, unknown>): Promise<ProbeReply> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      this.proc.stdin.write(`${JSON.stringify({ ...cmd, seq })}\n`);
    });
  }

  async tcp(dst: string, port: number, timeout = 3, src?: string, sport?: number): Promise<boolean> {
    return (await this.send({ op: 'tcp', dst, port, timeout, src, sport })).ok;
  }

  async udp(dst: string, port: number, timeout = 3): Promise<boolean> {
    return (await this.send({ op: 'udp', dst, port, timeout })).ok;
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }
}

export interface World {
  node: string;
  pod: string;
  peer: string;
  /** Host-side veth of the pod (in the node netns). */
  veth: string;
  podIp: string;
  peerIp: string;
  /** Extra peer addresses (same /24) for LPM tests. */
  peerIp2: string;
  podIp6: string;
  peerIp6: string;
  pinRoot: string;
  bpffs: string;
  podProbe: Probe;
  peerProbe: Probe;
  ip(ns: string, args: string[]): string;
  cleanup(): void;
}

const sh = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Mounts a private bpffs in a fresh temp directory. */
export function mountBpffs(): { dir: string; unmount(): void } {
  const dir = mkdtempSync('/tmp/npa-bpffs-');
  sh('mount', ['-t', 'bpf', 'bpf', dir]);
  return {
    dir,
    unmount: () => {
      try {
        sh('umount', [dir]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export async function createWorld(tag: string): Promise<World> {
  const id = randomBytes(3).toString('hex');
  const node = `npa-${tag}-n-${id}`;
  const pod = `npa-${tag}-p-${id}`;
  const peer = `npa-${tag}-q-${id}`;
  const veth = `eni${id}0000`;
  const made: string[] = [];
  const ip = (ns: string, args: string[]) => sh('ip', ['-n', ns, ...args]);
  let bpffs: ReturnType<typeof mountBpffs> | undefined;
  const probes: Probe[] = [];
  const cleanup = () => {
    for (const p of probes) p.kill();
    for (const ns of made.reverse())
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    bpffs?.unmount();
  };
  try {
    for (const ns of [node, pod, peer]) {
      sh('ip', ['netns', 'add', ns]);
      made.push(ns);
      ip(ns, ['link', 'set', 'lo', 'up']);
    }
    ip(node, ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
    ip(node, ['link', 'add', 'peer0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer]);
    sh('ip', [
      'netns',
      'exec',
      node,
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.forwarding=1',
    ]);
    const wire = (ns: string, hostIf: string, net: number) => {
      ip(node, ['addr', 'add', `10.77.${net}.1/24`, 'dev', hostIf]);
      ip(node, ['addr', 'add', `fd77:${net}::1/64`, 'dev', hostIf, 'nodad']);
      ip(node, ['link', 'set', hostIf, 'up']);
      ip(ns, ['addr', 'add', `10.77.${net}.2/24`, 'dev', 'eth0']);
      ip(ns, ['addr', 'add', `fd77:${net}::2/64`, 'dev', 'eth0', 'nodad']);
      ip(ns, ['link', 'set', 'eth0', 'up']);
      ip(ns, ['route', 'add', 'default', 'via', `10.77.${net}.1`]);
      ip(ns, ['-6', 'route', 'add', 'default', 'via', `fd77:${net}::1`]);
    };
    wire(pod, veth, 1);
    wire(peer, 'peer0', 2);
    ip(peer, ['addr', 'add', '10.77.2.3/24', 'dev', 'eth0']);
    bpffs = mountBpffs();
    const podProbe = new Probe(pod);
    const peerProbe = new Probe(peer);
    probes.push(podProbe, peerProbe);
    await Promise.all([podProbe.ready, peerProbe.ready]);
    for (const [p, fam] of [
      [podProbe, 4],
      [podProbe, 6],
      [peerProbe, 4],
      [peerProbe, 6],
    ] as const)
      await p.send({ op: 'listen', family: fam, tcp: [80, 81, 8080, 9000], udp: [53, 80], sctp: true });
    return {
      node,
      pod,
      peer,
      veth,
      podIp: '10.77.1.2',
      peerIp: '10.77.2.2',
      peerIp2: '10.77.2.3',
      podIp6: 'fd77:1::2',
      peerIp6: 'fd77:2::2',
      bpffs: bpffs.dir,
      pinRoot: join(bpffs.dir, 'globals/aws'),
      podProbe,
      peerProbe,
      ip,
      cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}
