// Network policy on the simulated cluster, shared by the netpol e2e tests and `npm run demo -- --network-policy`:
// TCP/UDP servers and long-lived probers inside pod network namespaces (pods made by containerd: the netns is the
// pause process's), a who-reaches-whom matrix, and per-pair probe loops that time when each node enforces a change.
// A TCP probe is one connect; a connect or a refusal (RST from the pod's kernel) counts as "reached", a timeout or
// an ICMP error as "blocked". A UDP probe is one datagram the server echoes (an answer or a port unreachable:
// "reached"); an ICMP probe one echo request (ping from the pod's netns). IPv4 and IPv6 pods alike.
import { type ChildProcess, execFile } from 'node:child_process';
import type { CriPod } from '../demo/cri-pods.js';
import { spawnOwned } from '../harness/owner.js';

export type Proto = 'tcp' | 'udp' | 'icmp';

// Arguments "t4:80" (TCP accept-and-close), "u6:5353" (UDP echo); 4 or 6: the pod's family (bound to all addresses).
const SERVER = `const net=require('net'),d=require('dgram');for(const a of process.argv.slice(1)){const [k,p]=a.split(':');const h=k[1]==='6'?'::':'0.0.0.0';if(k[0]==='t')net.createServer(s=>s.end()).listen(+p,h);else{const s=d.createSocket(k[1]==='6'?'udp6':'udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(+p,h);}}`;
// Reads "id host port timeoutMs proto" lines (proto tcp or udp), answers "id 1" (reached) or "id 0" (blocked).
const PROBER = `const net=require('net'),d=require('dgram');require('readline').createInterface({input:process.stdin}).on('line',l=>{const [id,h,p,t,k]=l.split(' ');let fin;let done=false;const end=v=>{if(done)return;done=true;fin();process.stdout.write(id+' '+v+'\\n');};if(k==='udp'){const s=d.createSocket(h.includes(':')?'udp6':'udp4');const tm=setTimeout(()=>end(0),+t);fin=()=>{clearTimeout(tm);try{s.close()}catch{}};s.on('message',()=>end(1));s.on('error',e=>end(e.code==='ECONNREFUSED'?1:0));s.connect(+p,h,()=>s.send('x'));return;}const s=net.connect({host:h,port:+p});fin=()=>s.destroy();s.setTimeout(+t);s.on('connect',()=>end(1));s.on('timeout',()=>end(0));s.on('error',e=>end(e.code==='ECONNREFUSED'?1:0));});`;

const inPod = (pid: number, script: string, args: string[], stdio: 'ignore' | 'pipe'): ChildProcess =>
  spawnOwned('nsenter', [`--net=/proc/${pid}/ns/net`, process.execPath, '-e', script, ...args], {
    stdio: stdio === 'pipe' ? ['pipe', 'pipe', 'ignore'] : 'ignore',
  });

/** The processes a netpol scenario starts in pod namespaces; close() kills them all (by their own handles). */
export class PodProcesses {
  private readonly children: ChildProcess[] = [];
  private readonly probers = new Map<number, Prober>();

  /** TCP servers on `ports`, UDP echo servers on `udp`, in the pod's netns (on every address of its family). */
  serve(pod: CriPod, ports: number[], udp: number[] = []): void {
    const f = pod.ip.includes(':') ? '6' : '4';
    const args = [...ports.map((p) => `t${f}:${p}`), ...udp.map((p) => `u${f}:${p}`)];
    this.children.push(inPod(pod.pid, SERVER, args, 'ignore'));
  }

  prober(pod: CriPod): Prober {
    let p = this.probers.get(pod.pid);
    if (!p) {
      const child = inPod(pod.pid, PROBER, [], 'pipe');
      this.children.push(child);
      p = new Prober(child, pod.pid);
      this.probers.set(pod.pid, p);
    }
    return p;
  }

  close(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

export class Prober {
  private next = 0;
  private readonly waiting = new Map<number, (ok: boolean) => void>();

  constructor(
    private readonly child: ChildProcess,
    private readonly pid: number,
  ) {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const [id, v] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        const w = this.waiting.get(Number(id));
        this.waiting.delete(Number(id));
        w?.(v === '1');
      }
    });
  }

  /**
   * One probe from the pod; true when it reached `host`: TCP connected or refused, a UDP answer or port
   * unreachable, an ICMP echo reply (`port` unused; ping runs as its own process, not in the prober's event loop).
   */
  probe(host: string, port: number, timeoutMs: number, proto: Proto = 'tcp'): Promise<boolean> {
    if (proto === 'icmp') return this.ping(host, timeoutMs);
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`prober did not answer probe ${id} to ${host}:${port}`));
      }, timeoutMs + 10_000);
      this.waiting.set(id, (ok) => {
        clearTimeout(guard);
        resolve(ok);
      });
      this.child.stdin!.write(`${id} ${host} ${port} ${timeoutMs} ${proto}\n`);
    });
  }

  private ping(host: string, timeoutMs: number): Promise<boolean> {
    const w = Math.max(0.5, timeoutMs / 1000).toFixed(1);
    return new Promise((resolve) =>
      execFile('nsenter', [`--net=/proc/${this.pid}/ns/net`, 'ping', '-c1', '-n', '-W', w, host], (e) =>
        resolve(!e),
      ),
    );
  }
}

/** One probe of the matrix: `from` → `to` on `port`; its key is "from>to" (plus ":port" for extra probes). */
export interface Pair {
  key: string;
  from: CriPod;
  to: CriPod;
  port: number;
  /** Default tcp. */
  proto?: Proto;
  /** The node that hosts `to` (where its ingress policy is enforced). */
  node: string;
}

export type Matrix = Record<string, boolean>;

/** Every pair once, concurrently. An allowed pair that times out is probed again (a loaded machine is slow). */
export async function probeMatrix(pp: PodProcesses, pairs: Pair[], timeoutMs = 1_000): Promise<Matrix> {
  const out: Matrix = {};
  await Promise.all(
    pairs.map(async (p) => {
      const pr = pp.prober(p.from);
      let ok = await pr.probe(p.to.ip, p.port, timeoutMs, p.proto);
      for (let i = 0; !ok && i < 2; i++) ok = await pr.probe(p.to.ip, p.port, timeoutMs, p.proto);
      out[p.key] = ok;
    }),
  );
  return out;
}

export interface Convergence {
  /** Per node: ms from `t0` until every pair towards that node's pods answered as expected and kept doing so. */
  perNode: Record<string, number>;
  converged: boolean;
  /** Pairs that never settled: key and their last answer (true = reached). */
  pending: string[];
}

/**
 * Probes every pair in its own loop (timeout `probeMs`) from now until each has answered as `expected`
 * `stableProbes` times in a row (or `timeoutMs` passes). A pair's time is the start of its first probe after its
 * last unexpected answer; a node's time is the latest of its pairs'. Resolution: a few ms for a pair that becomes
 * blocked, `probeMs` for one that becomes reachable.
 */
export async function timeConvergence(
  pp: PodProcesses,
  pairs: Pair[],
  expected: Matrix,
  t0: number,
  o: { probeMs?: number; stableProbes?: number; timeoutMs?: number } = {},
): Promise<Convergence> {
  const probeMs = o.probeMs ?? 200;
  const stable = o.stableProbes ?? 3;
  const until = performance.now() + (o.timeoutMs ?? 30_000);
  const since = new Map<string, number>();
  let converged = true;
  const pending: string[] = [];
  await Promise.all(
    pairs.map(async (p) => {
      const pr = pp.prober(p.from);
      let run = 0;
      let first = 0;
      let ok: boolean | undefined;
      while (run < stable) {
        if (performance.now() > until) {
          converged = false;
          pending.push(`${p.key} ${ok ? 'reached' : 'blocked'}`);
          return;
        }
        const start = performance.now();
        ok = await pr.probe(p.to.ip, p.port, probeMs, p.proto);
        if (ok === expected[p.key]) {
          if (run === 0) first = start;
          run++;
        } else run = 0;
        await new Promise((r) => setTimeout(r, 5));
      }
      since.set(p.key, Math.max(0, first - t0));
    }),
  );
  const perNode: Record<string, number> = {};
  for (const p of pairs) perNode[p.node] = Math.max(perNode[p.node] ?? 0, since.get(p.key) ?? Infinity);
  return { perNode, converged, pending: pending.sort() };
}

/** The matrix as rows (from) × columns (to), "✓" reached, "·" blocked; extra probes listed below. */
export function formatMatrix(names: string[], m: Matrix): string {
  const w = Math.max(...names.map((n) => n.length)) + 1;
  const head = ' '.repeat(w) + names.map((n) => n.padEnd(w)).join('');
  const rows = names.map(
    (f) => f.padEnd(w) + names.map((t) => (f === t ? '-' : m[`${f}>${t}`] ? '✓' : '·').padEnd(w)).join(''),
  );
  const extra = Object.keys(m)
    .filter((k) => k.includes(':'))
    .map((k) => `${k} ${m[k] ? '✓' : '·'}`);
  return [head, ...rows, ...extra].join('\n');
}

/** What a probe loop saw: per address, each probe's start (performance.now()) and answer. */
export type ProbeLog = Map<string, { t: number; ok: boolean }[]>;

/**
 * Probes every address of `ips` on `port` from `from`, each in its own loop (timeout `probeMs`), until stop().
 * Started before a pod exists, it sees the pod's address from the first packet the node lets through.
 */
export function probeLoop(
  pp: PodProcesses,
  from: CriPod,
  ips: string[],
  port: number,
  probeMs = 100,
): { log: ProbeLog; stop: () => Promise<void> } {
  const log: ProbeLog = new Map(ips.map((ip) => [ip, []]));
  const pr = pp.prober(from);
  let running = true;
  const loops = ips.map(async (ip) => {
    while (running) {
      const t = performance.now();
      const ok = await pr.probe(ip, port, probeMs);
      log.get(ip)!.push({ t, ok });
      await new Promise((r) => setTimeout(r, 2));
    }
  });
  return {
    log,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
