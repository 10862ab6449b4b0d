// The probe that sees a verdict flip for `pnpm bench netpol`'s enforce latency. A TCP connect is started every
// `periodMs` from the client pod's netns, without waiting for the previous ones (each has its own source port, so
// each SYN is judged afresh), and every result is reported with its start time. A flip to "allowed" is therefore
// seen by the first SYN sent after the maps changed, not only after a blocked probe's timeout ran out (the lab's
// watcher probes one at a time, so a flip to allowed waited up to its 30 ms timeout plus scheduling for the next
// probe). Timeout: a blocked probe only needs to end eventually; it no longer bounds the resolution.
import { type ChildProcess, spawn } from 'node:child_process';

// argv: host port periodMs timeoutMs. Prints "<start ms, sub-ms wall clock> <1|0>" per probe.
const SCRIPT = `const net=require('net');const {performance:P}=require('perf_hooks');const [h,p,per,to]=process.argv.slice(1).map((x,i)=>i?+x:x);let open=0;const one=()=>{if(open>64)return;open++;const t=P.timeOrigin+P.now();const s=net.connect({host:h,port:p});let d=false;const fin=v=>{if(d)return;d=true;open--;s.destroy();process.stdout.write(t.toFixed(3)+' '+v+'\\n');};s.setTimeout(to);s.on('connect',()=>fin(1));s.on('timeout',()=>fin(0));s.on('error',e=>fin(e.code==='ECONNREFUSED'?1:0));};setInterval(one,per);`;

export interface ProbeResult {
  t: number;
  ok: boolean;
}

export class VerdictWatch {
  /** Every probe result, in the order they arrived (not in start order). */
  readonly results: ProbeResult[] = [];
  private readonly child: ChildProcess;
  private readonly timeoutMs: number;

  constructor(netns: string, host: string, port: number, o: { periodMs?: number; timeoutMs?: number } = {}) {
    this.timeoutMs = o.timeoutMs ?? 250;
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        netns,
        process.execPath,
        '-e',
        SCRIPT,
        host,
        String(port),
        String(o.periodMs ?? 2),
        String(this.timeoutMs),
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const [t, v] = buf.slice(0, i).split(' ');
        this.results.push({ t: Number(t), ok: v === '1' });
        buf = buf.slice(i + 1);
      }
    });
  }

  /**
   * The start time of the first probe started at or after `after` that saw `ok` and was followed (in start
   * order) by `stable` more probes that all saw `ok`; decided once a probe timeout has passed since that probe
   * started, so every probe started before it has reported (blocked ones report last). Throws after
   * `timeoutMs`. Also returns the start of the last probe before it that saw the old verdict: the kernel's
   * verdict changed between the two (the probe's resolution).
   */
  async flip(
    after: number,
    ok: boolean,
    o: { stable?: number; timeoutMs?: number } = {},
  ): Promise<{ t: number; lastOld: number | undefined }> {
    const stable = o.stable ?? 5;
    const until = Date.now() + (o.timeoutMs ?? 5_000);
    for (;;) {
      const since = this.results.filter((r) => r.t >= after).sort((a, b) => a.t - b.t);
      for (let i = 0; i + stable < since.length; i++) {
        if (since[i]!.ok !== ok) continue;
        if (!since.slice(i + 1, i + 1 + stable).every((r) => r.ok === ok)) continue;
        if (performance.timeOrigin + performance.now() < since[i]!.t + this.timeoutMs + 20) break;
        const t = since[i]!.t;
        let lastOld: number | undefined;
        for (const r of this.results)
          if (r.ok !== ok && r.t < t && (lastOld === undefined || r.t > lastOld)) lastOld = r.t;
        return { t, lastOld };
      }
      if (Date.now() > until)
        throw new Error(`no stable "${ok ? 'allowed' : 'blocked'}" verdict after a change`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
