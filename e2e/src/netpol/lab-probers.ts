// Probes of the policy lab: one-shot TCP connects, long-lived probers in pod namespaces answering batches of
// TCP/UDP/SCTP/ICMP probes and DNS lookups, and watchers that connect continuously and report every change of
// verdict.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { LabPod } from './lab.js';
import { PROBE, PROBER, python, SCTP_PROBE, WATCH } from './lab-scripts.js';

export class Probers {
  constructor(
    private readonly pods: Map<string, LabPod>,
    private readonly children: ChildProcess[],
  ) {}

  /** A TCP connect from one pod to another (a refused connect counts as allowed: the packet got through). */
  probe(from: string, to: string, port = 80, timeoutMs = 700): boolean {
    const a = this.pods.get(from)!;
    const b = this.pods.get(to)!;
    try {
      execFileSync(
        'ip',
        ['netns', 'exec', a.ns, process.execPath, '-e', PROBE, b.ip, String(port), String(timeoutMs)],
        {
          stdio: 'ignore',
        },
      );
      return true;
    } catch {
      return false;
    }
  }

  /** The cluster DNS Service (key) that lookups ask about and probes by name resolve through (useDns). */
  dnsService: string | undefined;

  /**
   * Probes from one pod to many at once (`tcp/80`, `udp/81`, `icmp`, `dns-udp/53`, `name-tcp/8080`: see
   * ProbeName), concurrently; resolves to one verdict per target (a refused connect counts as allowed).
   */
  probeMany(from: string, targets: { to: string; probe: string }[], timeoutMs = 500): Promise<boolean[]> {
    const t = targets.map(({ to, probe }) => this.target(to, probe));
    const p = this.prober(from);
    const id = ++this.probeId;
    return new Promise((resolve, reject) => {
      p.waiting.set(id, (v) =>
        v.length === t.length
          ? resolve([...v].map((c) => c === '1'))
          : reject(new Error(`prober in ${from}: ${v}`)),
      );
      p.child.stdin!.write(`${JSON.stringify({ id, to: timeoutMs, t })}\n`);
    });
  }

  /** A probe as the prober's target string (PROBER in lab-scripts.ts). */
  private target(to: string, probe: string): string {
    const dst = this.pods.get(to);
    if (!dst) throw new Error(`no lab endpoint ${to}`);
    const [kind, port] = probe.split('/') as [string, string];
    if (kind === 'icmp') return `icmp:${dst.ip}`;
    if (kind === 'dns-udp' || kind === 'dns-tcp' || kind === 'name-tcp') {
      const dns = this.dnsService === undefined ? undefined : this.pods.get(this.dnsService);
      if (!dns) throw new Error(`${probe} needs the lab's cluster DNS (NetpolLab.useDns)`);
      // A lookup asks for the DNS Service's own name; a probe by name for the destination's (short form).
      if (kind === 'name-tcp') return `name:${dns.ip}:53:${dst.name}.${dst.namespace}:${dst.ip}:${port}`;
      const fqdn = `${dns.name}.${dns.namespace}.svc.cluster.local`;
      return `${kind === 'dns-udp' ? 'dnsu' : 'dnst'}:${dst.ip}:${port}:${fqdn}:${dns.ip}`;
    }
    return `${kind}:${dst.ip}:${port}`;
  }

  private readonly probers = new Map<
    string,
    { child: ChildProcess; waiting: Map<number, (v: string) => void> }
  >();
  private probeId = 0;

  private prober(from: string): { child: ChildProcess; waiting: Map<number, (v: string) => void> } {
    const have = this.probers.get(from);
    if (have) return have;
    const a = this.pods.get(from)!;
    const child = spawn('ip', ['netns', 'exec', a.ns, process.execPath, '-e', PROBER, a.bind ?? ''], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, SCTP_PROBE, SCTP_PYTHON: python() },
    });
    this.children.push(child);
    const waiting = new Map<number, (v: string) => void>();
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const r = JSON.parse(buf.slice(0, i)) as { id: number; v: string };
        buf = buf.slice(i + 1);
        waiting.get(r.id)?.(r.v);
        waiting.delete(r.id);
      }
    });
    child.on('exit', () => {
      for (const w of waiting.values()) w('prober exited');
      this.probers.delete(from);
    });
    const p = { child, waiting };
    this.probers.set(from, p);
    return p;
  }

  /** A long-running prober from one pod to another; `flips` holds [Date.now(), verdict] at every change. */
  watch(from: string, to: string, port = 80): { flips: [number, 'ok' | 'fail'][]; stop: () => void } {
    const a = this.pods.get(from)!;
    const b = this.pods.get(to)!;
    const child = spawn('ip', ['netns', 'exec', a.ns, process.execPath, '-e', WATCH, b.ip, String(port)], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.children.push(child);
    const flips: [number, 'ok' | 'fail'][] = [];
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const [t, v] = buf.slice(0, i).split(' ');
        flips.push([Number(t), v as 'ok' | 'fail']);
        buf = buf.slice(i + 1);
      }
    });
    return { flips, stop: () => child.kill() };
  }
}
