// The agent's side of `pnpm bench netpol`: enforce_p50_ms / enforce_p99_ms (a PolicyEndpoint written to the API
// stand-in → the verdict of a TCP prober between two pod namespaces seen flipping, over ≥ 100 changes that
// alternately deny and allow; per stage from the agent's trace channel, agent/trace.ts; the prober is
// netpol/verdict-watch.ts, or the lab's one-at-a-time watcher with BENCH_NETPOL_PROBE=lab) and strict_add_extra_ms: the EnforceNpToPod gRPC call of the aws-cni ADD, against
// the real agent (real eBPF datapath, in-process, gRPC over its unix socket), for a new pod in strict mode minus
// standard (20 pods each, interleaved). That call is everything network policy adds to an ADD; the plugin's own
// wiring is the same in both modes. Two phases in the same run: pods arriving while the warm pool has a slot
// (`*_add_ms`, the agent's normal case) and with the pool stopped (`*_add_inline_ms`: programs loaded through
// the verifier during the call, as before the pool, and as under a burst larger than the pool). Needs root and
// the eBPF datapath. `netpol.ts` joins these fields into its JSON line; run alone, the last line is this object.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { loadavg } from 'node:os';
import { DATAPATH_AVAILABLE, openDatapath } from '@vpc-cni/network-policy-agent/agent-datapath';
import { EbpfDatapath } from '@vpc-cni/network-policy-agent/datapath';
import { ENFORCE_TRACE_CHANNEL, type EnforceTrace } from '@vpc-cni/network-policy-agent/agent-trace';
import { NetpolLab } from '@vpc-cni/e2e/netpol';
import { VerdictWatch } from './netpol/verdict-watch.js';

export interface NetpolEnforceResult {
  enforce_p50_ms: number;
  enforce_p99_ms: number;
  enforce_changes: number;
  /**
   * Per stage of each change, p50 and p99 (ms): `watch` the API write → the agent's watch event; `queue` → its
   * pod updates start; `compile` → the pod's maps derived and compiled; `write` → maps and state written to the
   * kernel; `probe` → the first probe that saw the new verdict started (the probe's own delay; negative when a
   * probe started just before the write ended and its SYN met the new maps). `gap`: between the last probe with
   * the old verdict and the first with the new one (the probe's resolution).
   */
  enforce_stages_ms: Record<
    'watch' | 'queue' | 'compile' | 'write' | 'probe' | 'gap',
    { p50: number; p99: number }
  >;
  /** Which prober timed the flips: `stream` (a connect every 2 ms, not waiting for earlier ones) or `lab`. */
  enforce_probe: 'stream' | 'lab';
  /** Pool-served: median strict − median standard, and the medians. */
  strict_add_extra_ms: number;
  strict_add_ms: number;
  standard_add_ms: number;
  /** How many of those calls were served from the pool (all of them unless a refill lagged). */
  add_pool_served: number;
  add_pool_calls: number;
  /** Pool stopped: programs loaded inside the call. */
  strict_add_extra_inline_ms: number;
  strict_add_inline_ms: number;
  standard_add_inline_ms: number;
  /** 1-minute load average at the start and end of this part (other jobs share the machine). */
  enforce_loadavg_start: number;
  enforce_loadavg_end: number;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const median = (xs: number[]) => pct(xs, 50);
const round = (n: number) => Math.round(n * 100) / 100;

async function waitFor(
  flips: [number, string][],
  after: number,
  verdict: string,
  timeoutMs = 5_000,
): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = flips.find(([t, v]) => t >= after && v === verdict);
    if (hit) return hit[0];
    if (Date.now() > until)
      throw new Error(`no "${verdict}" verdict within ${timeoutMs} ms of a policy change`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

export async function benchNetpolEnforce(
  o: { changes?: number; pods?: number; inlinePods?: number } = {},
): Promise<NetpolEnforceResult> {
  if (!DATAPATH_AVAILABLE) throw new Error('netpol-enforce needs a build that includes the eBPF datapath');
  const changes = Math.max(100, o.changes ?? 100);
  const pods = o.pods ?? 20;
  const inlinePods = o.inlinePods ?? 10;
  const load0 = loadavg()[0]!;
  const latencies: number[] = [];
  const probe = process.env.BENCH_NETPOL_PROBE === 'lab' ? 'lab' : 'stream';
  const stages = { watch: [], queue: [], compile: [], write: [], probe: [], gap: [] } as Record<
    keyof NetpolEnforceResult['enforce_stages_ms'],
    number[]
  >;
  const std: number[] = [];
  const strict: number[] = [];
  const stdInline: number[] = [];
  const strictInline: number[] = [];
  let served = 0;
  let dp: EbpfDatapath | undefined;
  const lab = await NetpolLab.start({
    mode: 'standard',
    openDatapath: (dpo) => {
      const d = openDatapath(dpo);
      if (d instanceof EbpfDatapath) dp = d;
      return d;
    },
  });
  try {
    if (!dp) throw new Error('the agent did not open the eBPF datapath');
    const pool = dp;
    lab.addPod('server');
    lab.addPod('client');
    await lab.enforce('server', 'standard');
    await lab.enforce('client', 'standard');
    const client = lab.pods.get('client')!.ip;
    const spec = (allow: boolean) => ({
      policyRef: { name: 'flip', namespace: 'x' },
      podIsolation: ['Ingress'],
      podSelectorEndpoints: [lab.endpoint('server')],
      ingress: allow ? [{ cidr: `${client}/32`, ports: [{ protocol: 'TCP', port: 80 }] }] : [],
    });
    const traces: EnforceTrace[] = [];
    const onTrace = (m: unknown) => traces.push(m as EnforceTrace);
    subscribe(ENFORCE_TRACE_CHANNEL, onTrace);
    const now = () => performance.timeOrigin + performance.now();
    const first = (after: number, ok: (x: EnforceTrace) => boolean) =>
      traces.find((x) => x.t >= after && ok(x))?.t ?? NaN;
    try {
      const legacy = probe === 'lab' ? lab.watch('client', 'server') : undefined;
      const stream = legacy
        ? undefined
        : new VerdictWatch(lab.pods.get('client')!.ns, lab.pods.get('server')!.ip, 80);
      try {
        const seen = async (after: number, allow: boolean): Promise<{ t: number; lastOld?: number }> =>
          legacy
            ? { t: await waitFor(legacy.flips, Math.floor(after), allow ? 'ok' : 'fail') }
            : stream!.flip(after, allow);
        await seen(now(), true);
        for (let i = 0; i < changes; i++) {
          const allow = i % 2 === 1;
          traces.length = 0;
          const t0 = now();
          lab.putPolicyEndpoint('flip-abcde', spec(allow));
          const v = await seen(t0, allow);
          latencies.push(v.t - t0);
          const recv = first(t0, (x) => x.stage === 'pe-received' && x.pe === 'x/flip-abcde');
          const flush = first(recv, (x) => x.stage === 'flush-start');
          const compiled = first(flush, (x) => x.stage === 'pod-compiled' && x.pod === 'x/server');
          const written = first(compiled, (x) => x.stage === 'pod-written' && x.pod === 'x/server');
          stages.watch.push(recv - t0);
          stages.queue.push(flush - recv);
          stages.compile.push(compiled - flush);
          stages.write.push(written - compiled);
          stages.probe.push(v.t - written);
          if (v.lastOld !== undefined) stages.gap.push(v.t - v.lastOld);
        }
      } finally {
        legacy?.stop();
        stream?.stop();
      }
    } finally {
      unsubscribe(ENFORCE_TRACE_CHANNEL, onTrace);
    }
    // strict vs standard ADD cost: fresh pods, interleaved; each arrives once the pool has refilled.
    for (let i = 0; i < pods; i++) {
      lab.addPod(`std-${i}`);
      lab.addPod(`strict-${i}`);
    }
    const add = async (name: string, mode: 'standard' | 'strict', into: number[]) => {
      await pool.poolFilled();
      const before = pool.poolStatus().served;
      into.push(await lab.enforce(name, mode));
      served += pool.poolStatus().served - before;
    };
    for (let i = 0; i < pods; i++) {
      // alternate which mode goes first, so a drift in machine load does not favour one
      const pair = [() => add(`std-${i}`, 'standard', std), () => add(`strict-${i}`, 'strict', strict)];
      if (i % 2) pair.reverse();
      for (const f of pair) await f();
    }
    // The same with the pool stopped: every call loads its programs inline.
    await pool.stopPool();
    for (let i = 0; i < inlinePods; i++) {
      lab.addPod(`std-inline-${i}`);
      lab.addPod(`strict-inline-${i}`);
    }
    for (let i = 0; i < inlinePods; i++) {
      const pair = [
        async () => stdInline.push(await lab.enforce(`std-inline-${i}`, 'standard')),
        async () => strictInline.push(await lab.enforce(`strict-inline-${i}`, 'strict')),
      ];
      if (i % 2) pair.reverse();
      for (const f of pair) await f();
    }
  } finally {
    await lab.stop();
  }
  return {
    enforce_p50_ms: round(pct(latencies, 50)),
    enforce_p99_ms: round(pct(latencies, 99)),
    enforce_changes: latencies.length,
    enforce_stages_ms: Object.fromEntries(
      Object.entries(stages).map(([k, xs]) => [k, { p50: round(pct(xs, 50)), p99: round(pct(xs, 99)) }]),
    ) as NetpolEnforceResult['enforce_stages_ms'],
    enforce_probe: probe,
    strict_add_extra_ms: round(median(strict) - median(std)),
    strict_add_ms: round(median(strict)),
    standard_add_ms: round(median(std)),
    add_pool_served: served,
    add_pool_calls: std.length + strict.length,
    strict_add_extra_inline_ms: round(median(strictInline) - median(stdInline)),
    strict_add_inline_ms: round(median(strictInline)),
    standard_add_inline_ms: round(median(stdInline)),
    enforce_loadavg_start: round(load0),
    enforce_loadavg_end: round(loadavg()[0]!),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchNetpolEnforce().then(
    (r) => console.log(JSON.stringify(r)),
    (err: unknown) => {
      console.error(`netpol-enforce: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
