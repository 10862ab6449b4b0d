// The rpc benchmark's tracer (`BENCH_TRACE=1 pnpm bench rpc`): a timeline of what can hold up a call, recorded in
// the agent (preloaded into the real executable through NODE_OPTIONS=--import, so the SEA's V8 flags, code cache
// and malloc_trim timers are the ones measured) and in the bench's own process. Times are epoch milliseconds
// (performance.timeOrigin + now), so both processes' events line up. Recorded:
//  - gc: every V8 garbage collection (start, duration, kind), from a PerformanceObserver;
//  - stall: the event loop not turning for more than 3 ms (a 1 ms interval timer's lateness), with the run-queue
//    wait (/proc/thread-self/schedstat: time the main thread was runnable but not running) that accrued meanwhile;
//  - runq: run-queue waits of ≥ 1 ms between two samples (the machine's other processes holding the CPU);
//  - write: each positional fs.write (the journal's O_DSYNC record writes), with its fd and size;
//  - file: compaction and segment preparation (fs/promises open/writeFile/sync/datasync/rename), with the path;
//  - the event-loop delay histogram (perf_hooks.monitorEventLoopDelay, 1 ms resolution) over the whole run.
// Started by `startProbe()`; in the agent, BENCH_PROBE_OUT names the JSON file SIGUSR2 writes. Node strips the
// types of this file itself (no tsx in the agent), so it uses erasable TypeScript only and node: imports.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';

export type ProbeEvent =
  | { type: 'gc'; t: number; d: number; kind: number }
  | { type: 'stall'; t: number; d: number; runq: number }
  | { type: 'runq'; t: number; d: number }
  | { type: 'write'; t: number; d: number; fd: number; bytes: number }
  | { type: 'file'; t: number; d: number; op: string; path: string };

export interface ProbeData {
  readonly start: number;
  readonly events: ProbeEvent[];
  /** monitorEventLoopDelay over the run, in ms. */
  readonly eld: { p50: number; p99: number; max: number; mean: number };
}

const epoch = (): number => performance.timeOrigin + performance.now();

/** Run-queue wait of this thread so far, in ms (0 where /proc has no schedstat). */
function runDelayMs(): number {
  try {
    const f = fs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ');
    return Number(f[1]) / 1e6;
  } catch {
    return 0;
  }
}

/** Starts recording; the returned function returns what was recorded so far. */
export function startProbe(options: { patchFs: boolean }): () => ProbeData {
  const events: ProbeEvent[] = [];
  const start = epoch();
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      events.push({ type: 'gc', t: performance.timeOrigin + e.startTime, d: e.duration, kind });
    }
  });
  gc.observe({ entryTypes: ['gc'] });
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  let last = epoch();
  let lastRunq = runDelayMs();
  const tick = setInterval(() => {
    const now = epoch();
    const runq = runDelayMs();
    const waited = runq - lastRunq;
    if (now - last > 4) events.push({ type: 'stall', t: last + 1, d: now - last - 1, runq: waited });
    else if (waited >= 1) events.push({ type: 'runq', t: now - waited, d: waited });
    last = now;
    lastRunq = runq;
  }, 1);
  tick.unref();
  if (options.patchFs) {
    const write = fs.write;
    const patched = function (this: unknown, fd: number, buf: Uint8Array, ...rest: unknown[]) {
      const t = epoch();
      const cb = rest.pop() as (...a: unknown[]) => void;
      const bytes = typeof rest[1] === 'number' ? rest[1] : buf.length;
      return (write as unknown as (...a: unknown[]) => void).call(
        this,
        fd,
        buf,
        ...rest,
        (...a: unknown[]) => {
          events.push({ type: 'write', t, d: epoch() - t, fd, bytes });
          cb(...a);
        },
      );
    };
    (fs as { write: unknown }).write = patched;
    const timed =
      <A extends unknown[], R>(op: string, path: string, f: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        const t = epoch();
        try {
          return await f(...a);
        } finally {
          events.push({ type: 'file', t, d: epoch() - t, op, path });
        }
      };
    const open = fsp.open;
    (fsp as { open: unknown }).open = async (path: string, ...rest: unknown[]) => {
      const h = await timed(
        'open',
        String(path),
        open as (...a: unknown[]) => Promise<fsp.FileHandle>,
      )(path, ...rest);
      for (const m of ['writeFile', 'sync', 'datasync'] as const) {
        const f = h[m].bind(h) as (...a: unknown[]) => Promise<unknown>;
        (h as unknown as Record<string, unknown>)[m] = timed(m, String(path), f);
      }
      return h;
    };
    const rename = fsp.rename;
    (fsp as { rename: unknown }).rename = (from: string, to: string) =>
      timed('rename', String(to), rename)(from, to);
  }
  return () => {
    const ms = (ns: number) => Number((ns / 1e6).toFixed(3));
    return {
      start,
      events,
      eld: { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max), mean: ms(eld.mean) },
    };
  };
}

// Preloaded into the agent: record from the start; SIGUSR2 from the bench writes what was recorded so far.
const out = process.env['BENCH_PROBE_OUT'];
if (out) {
  const snapshot = startProbe({ patchFs: true });
  process.on('SIGUSR2', () => {
    fs.writeFileSync(`${out}.tmp`, JSON.stringify(snapshot()));
    fs.renameSync(`${out}.tmp`, out);
  });
}
