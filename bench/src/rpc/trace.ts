// Attribution of the open loop's slow calls (`BENCH_TRACE=1 pnpm bench rpc`): each call that sets a rate's p99
// (its slowest 1%) is laid over the timelines the probes recorded (./probe.ts) in the agent and in the bench's own
// process, and charged to whatever overlapped it most: the agent's GC, the agent's event loop held up otherwise
// (a stall that is neither GC nor run-queue wait), the agent waiting for a CPU (run queue), a journal write slower
// than usual, a compaction's file writes and fsyncs, the bench's own GC / stall / run queue, or the bench's timer
// starting the pair late. What nothing overlapped enough is "unexplained".
import type { ProbeData, ProbeEvent } from './probe.js';

/** One call as the open loop saw it (epoch ms): the Add from when it was due, the Del from the Add's reply. */
export interface CallRecord {
  rate: number;
  kind: 'add' | 'del';
  /** When its latency starts counting. */
  from: number;
  /** When the request was handed to the client (later than `from` when the generator was late). */
  sent: number;
  end: number;
}

type Cause =
  | 'agent_gc'
  | 'agent_stall'
  | 'agent_runq'
  | 'journal_write'
  | 'compaction'
  | 'bench_gc'
  | 'bench_stall'
  | 'bench_runq'
  | 'bench_late'
  | 'unexplained';

const overlap = (a0: number, a1: number, b0: number, b1: number): number =>
  Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));

const sumOverlap = (events: readonly { t: number; d: number }[], s: number, e: number): number =>
  events.reduce((acc, ev) => acc + overlap(s, e, ev.t, ev.t + ev.d), 0);

const pick = <T extends ProbeEvent['type']>(d: ProbeData, type: T) =>
  d.events.filter((e): e is Extract<ProbeEvent, { type: T }> => e.type === type);

const pctOf = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN).toFixed(3));
};

/** Per-rate attribution of the slowest 1% of calls, and the timelines' totals over each rate's window. */
export function attribute(
  calls: readonly CallRecord[],
  agent: ProbeData,
  bench: ProbeData,
  journalFd?: number,
) {
  const agentGc = pick(agent, 'gc');
  const agentStall = pick(agent, 'stall');
  const agentRunq = [...pick(agent, 'runq'), ...agentStall.map((s) => ({ t: s.t, d: s.runq }))];
  const writes = pick(agent, 'write').filter((w) => journalFd === undefined || w.fd === journalFd);
  // A compaction: the checkpoint's temp file written and synced, renamed, its directory synced; a spare segment
  // prepared (renamed or zero-filled, synced). Every file operation of fs/promises in the agent is one of these.
  const files = pick(agent, 'file');
  const benchGc = pick(bench, 'gc');
  const benchStall = pick(bench, 'stall');
  const benchRunq = [...pick(bench, 'runq'), ...benchStall.map((s) => ({ t: s.t, d: s.runq }))];
  const writeP50 = pctOf(
    writes.map((w) => w.d),
    50,
  );
  const rates = [...new Set(calls.map((c) => c.rate))];
  return rates.map((rate) => {
    const mine = calls.filter((c) => c.rate === rate);
    const lat = mine.map((c) => c.end - c.from);
    const p50 = pctOf(lat, 50);
    const p99 = pctOf(lat, 99);
    const w0 = Math.min(...mine.map((c) => c.from));
    const w1 = Math.max(...mine.map((c) => c.end));
    const inWindow = <E extends { t: number }>(xs: readonly E[]) => xs.filter((x) => x.t >= w0 && x.t <= w1);
    const slow = mine.filter((c) => c.end - c.from >= p99);
    const counts: Partial<Record<Cause, number>> = {};
    const ms: Partial<Record<Cause, number>> = {};
    for (const c of slow) {
      const s = c.from;
      const e = c.end;
      const gc = sumOverlap(agentGc, s, e);
      const stall = Math.max(0, sumOverlap(agentStall, s, e) - gc);
      const overlapping = writes.filter((w) => overlap(s, e, w.t, w.t + w.d) > 0);
      // A journal write counts for what it took beyond the usual (p50) write.
      const journal = overlapping.reduce(
        (acc, w) => acc + Math.max(0, overlap(s, e, w.t, w.t + w.d) - writeP50),
        0,
      );
      const share: Record<Cause, number> = {
        agent_gc: gc,
        agent_stall: stall,
        agent_runq: sumOverlap(agentRunq, s, e),
        journal_write: journal,
        compaction: sumOverlap(files, s, e),
        bench_gc: sumOverlap(benchGc, s, e),
        bench_stall: Math.max(0, sumOverlap(benchStall, s, e) - sumOverlap(benchGc, s, e)),
        bench_runq: sumOverlap(benchRunq, s, e),
        bench_late: c.sent - c.from,
        unexplained: 0,
      };
      for (const [k, v] of Object.entries(share) as [Cause, number][]) ms[k] = (ms[k] ?? 0) + v;
      const excess = e - s - p50;
      let top: Cause = 'unexplained';
      for (const [k, v] of Object.entries(share) as [Cause, number][]) if (v > share[top]) top = k;
      // A cause must account for at least a third of the call's excess over the median to be charged.
      if (share[top] < excess / 3) top = 'unexplained';
      counts[top] = (counts[top] ?? 0) + 1;
    }
    const gcs = inWindow(agentGc);
    const stalls = inWindow(agentStall);
    const ws = inWindow(writes);
    const compactionFsyncs = inWindow(files).filter((f) => f.op === 'sync' || f.op === 'datasync');
    // Journal writes during a compaction's file work versus the others: what a concurrent fsync does to them.
    const during = ws.filter((w) => files.some((f) => overlap(w.t, w.t + w.d, f.t, f.t + f.d) > 0));
    const apart = ws.filter((w) => !during.includes(w));
    // Calls that overlapped a compaction's file work, and the others.
    const hit = mine.filter((c) => files.some((f) => overlap(c.from, c.end, f.t, f.t + f.d) > 0));
    const missed = mine.filter((c) => !hit.includes(c));
    const stats = (xs: CallRecord[]) => ({
      count: xs.length,
      p50_ms: pctOf(
        xs.map((c) => c.end - c.from),
        50,
      ),
      p99_ms: pctOf(
        xs.map((c) => c.end - c.from),
        99,
      ),
    });
    return {
      rate,
      calls_during_compaction: stats(hit),
      calls_apart: stats(missed),
      calls: mine.length,
      p50_ms: p50,
      p99_ms: p99,
      slow_calls: slow.length,
      slow_by_cause: counts,
      slow_mean_overlap_ms: Object.fromEntries(
        Object.entries(ms).map(([k, v]) => [k, Number((v / Math.max(1, slow.length)).toFixed(2))]),
      ),
      agent_gc: { count: gcs.length, total_ms: round(gcs.reduce((a, g) => a + g.d, 0)), max_ms: maxOf(gcs) },
      agent_stalls: {
        count: stalls.length,
        total_ms: round(stalls.reduce((a, g) => a + g.d, 0)),
        max_ms: maxOf(stalls),
      },
      agent_runq_ms: round(sumOverlap(agentRunq, w0, w1)),
      bench_runq_ms: round(sumOverlap(benchRunq, w0, w1)),
      journal_writes: durations(ws),
      journal_writes_during_compaction: durations(during),
      journal_writes_apart: durations(apart),
      compaction_fsyncs: durations(compactionFsyncs),
    };
  });
}

const round = (x: number): number => Number(x.toFixed(2));
const maxOf = (xs: readonly { d: number }[]): number => round(xs.reduce((a, x) => Math.max(a, x.d), 0));
/** Count, p50, p99 and maximum of a list of durations (ms). */
const durations = (xs: readonly { d: number }[]) => ({
  count: xs.length,
  p50_ms: pctOf(
    xs.map((x) => x.d),
    50,
  ),
  p99_ms: pctOf(
    xs.map((x) => x.d),
    99,
  ),
  max_ms: maxOf(xs),
});
