// `pnpm bench rpc`: AddNetwork+DelNetwork pairs against the real aws-k8s-agent (warm pool, real fsync of every
// checkpoint write), measured three ways:
//  - open loop at fixed rates (100, 1,000, 5,000 pairs/s), what a node sees: pairs start on a schedule whatever
//    the replies do (a timer tick about every millisecond starts every pair due), up to 200 pairs in flight; a
//    pair held back by that cap counts its latency from when it was first due, so queueing is not hidden.
//    p50/p99 over every call (Add and Del) per rate; "late" counts pairs the generator started > 2 ms late;
//  - saturation: 64 clients always in flight (closed loop), pairs per second;
//  - one client alone (solo_*), before the rest.
//  - the baseline: one durable write (temp file, fsync, rename, fsync of the directory) in the same directory,
//    the floor of any call that changes the checkpoint (durable_write_*).
//  - the journal's floor: one record written O_DSYNC into a preallocated file (journal_write_*), what a group
//    commit costs since the checkpoint became a journal; and the agent's CPU time per pair while saturated,
//    next to the clients' (this process) and the machine's cores and load;
//  - the disk's floor at 1,000 pairs/s: records due open-loop at 1,000/s, written as the journal writes them
//    (one O_DSYNC append at a time, covering every record due meanwhile), no RPC (fsync_floor_*_at_1000);
//    the disk baselines are in rpc/disk.ts, the floor-server and compare rounds in rpc/rounds.ts;
//  - the server's floor: the same RpcServer with handlers that answer at once (rpc/floor-server.ts), saturated
//    the same way (floor_cpu_us_per_pair, floor_saturation_pairs_per_s).
// Last line: {"p50_ms_at_100","p99_ms_at_100",...,"p99_ms_at_5000","saturation_pairs_per_s",
// "durable_write_p50_ms","durable_write_p99_ms","journal_write_p50_ms","journal_write_p99_ms",
// "fsync_floor_p50_ms_at_1000","fsync_floor_p99_ms_at_1000","fsync_floor_writes_at_1000",
// "agent_cpu_us_per_pair","client_cpu_us_per_pair","floor_cpu_us_per_pair","floor_saturation_pairs_per_s",
// "cores","loadavg_end","add_p50_ms",
// "add_p99_ms","del_p50_ms","del_p99_ms","ops_per_s","littles_law_mean_ms","solo_add_p50_ms","solo_add_p99_ms"}
// (add_*/del_*/ops_per_s/littles_law_mean_ms: the saturation run). BENCH_PAIRS sets its size (10,000),
// BENCH_RATE_SECONDS the length of each open-loop rate (3).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { CLIENTS, cpuSeconds, delReq, pct, req, saturate, serving } from './rpc/calls.js';
import { durableWrites, fsyncFloor, journalWrites } from './rpc/disk.js';
import { type ProbeData, startProbe } from './rpc/probe.js';
import { compareAgents, floor, floorHttp2 } from './rpc/rounds.js';
import { attribute, type CallRecord } from './rpc/trace.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PAIRS = Number(process.env['BENCH_PAIRS'] ?? 10_000);
/** BENCH_RATES (comma-separated pairs/s) picks the open-loop rates, e.g. `100` for a longer traced run. */
const RATES = process.env['BENCH_RATES']?.split(',').map(Number) ?? [100, 1_000, 5_000];
const RATE_SECONDS = Number(process.env['BENCH_RATE_SECONDS'] ?? 3);
/** Connections the open-loop calls are spread over (each CNI call is its own process and connection). */
const OPEN_CONNECTIONS = 16;
/** Pairs in flight at most (the pool has 250 addresses); a pair due beyond it waits, and that wait counts. */
const MAX_IN_FLIGHT = 200;
const POOL = Array.from({ length: 250 }, (_, i) => `10.0.${1 + (i >> 8)}.${i & 255}`);
const dir = mkdtempSync(join(tmpdir(), 'vct-bench-rpc-'));
const socket = join(dir, 'ipamd.sock');

/**
 * BENCH_TRACE=1: the agent runs with the tracer preloaded (rpc/probe.ts, through NODE_OPTIONS), this process
 * records its own timeline and every open-loop call, and the slowest 1% of each rate are attributed to causes
 * (rpc/trace.ts), printed before the last line and added to it as `trace`.
 */
const TRACE = process.env['BENCH_TRACE'] === '1';
const stopBenchProbe = TRACE ? startProbe({ patchFs: false }) : undefined;
const traced: CallRecord[] = [];
const epoch = (t: number): number => performance.timeOrigin + t;

/** BENCH_AGENT_ARGV (a JSON list) starts the agent some other way, e.g. under `node --cpu-prof` to profile it. */
const agentArgv = process.env['BENCH_AGENT_ARGV']
  ? (JSON.parse(process.env['BENCH_AGENT_ARGV']) as string[])
  : [join(ROOT, 'dist/bin/aws-k8s-agent')];
/** Starts an agent with its own socket, checkpoint and log under `at`. */
function startAgent(argv: string[], at: string): ChildProcess {
  mkdirSync(at, { recursive: true });
  return spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env['PATH'] ?? '',
      VPC_CNI_STATIC_ENIS: JSON.stringify([{ id: 'eni-0aa', deviceNumber: 0, ips: POOL }]),
      VPC_CNI_IPAMD_SOCKET: join(at, 'ipamd.sock'),
      AWS_VPC_K8S_CNI_BACKING_STORE: join(at, 'ipam.json'),
      AWS_VPC_K8S_CNI_LOG_FILE: join(at, 'ipamd.log'),
      AWS_VPC_K8S_CNI_LOGLEVEL: 'error',
      IP_COOLDOWN_PERIOD: '0',
      DISABLE_INTROSPECTION: 'true',
      VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
      ...(TRACE
        ? {
            NODE_OPTIONS: `--require=${join(import.meta.dirname, 'rpc/probe.ts')}`,
            BENCH_PROBE_OUT: join(at, 'probe.json'),
          }
        : {}),
    },
  });
}
const child = startAgent(agentArgv, dir);
/**
 * BENCH_COMPARE_ARGV (a JSON list, e.g. an older build's executable): a second agent beside the first, and at the
 * end both saturated in alternating rounds of 1,000 pairs, so a loaded machine's drift hits both alike
 * (ab_* fields: CPU per pair and pairs/s of this agent and of the other).
 */
const compareArgv = process.env['BENCH_COMPARE_ARGV']
  ? (JSON.parse(process.env['BENCH_COMPARE_ARGV']) as string[])
  : undefined;
const other = compareArgv ? startAgent(compareArgv, join(dir, 'compare')) : undefined;
// A crash of this process (an unhandled rejection skips the `finally` below) must not leave the agents running:
// `exit` handlers run on every way out, and kill() is synchronous.
process.on('exit', () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (other && other.exitCode === null && other.signalCode === null) other.kill('SIGKILL');
});

/**
 * Starts `rate` pairs per second for `seconds`, on schedule: a timer wakes about every millisecond and starts
 * every pair already due. Returns p50/p99 over all calls: an Add from when it was sent (or first held back by the
 * in-flight cap), a Del from its Add's reply.
 */
async function openLoop(rate: number, seconds: number) {
  const clients = Array.from(
    { length: OPEN_CONNECTIONS },
    () => new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 10_000 }),
  );
  const total = Math.round(rate * seconds);
  const lat: number[] = [];
  let inFlight = 0;
  let late = 0;
  let started = 0;
  const running: Promise<void>[] = [];
  const pair = async (n: number, due: number): Promise<void> => {
    const c = clients[n % clients.length] as RpcClient;
    const id = `open-${rate}-${n}`;
    const sent = performance.now();
    await c.call(CNIBackend.AddNetwork, req(id));
    const t = performance.now();
    lat.push(t - due);
    await c.call(CNIBackend.DelNetwork, delReq(id));
    const end = performance.now();
    lat.push(end - t);
    if (TRACE) {
      traced.push({ rate, kind: 'add', from: epoch(due), sent: epoch(sent), end: epoch(t) });
      traced.push({ rate, kind: 'del', from: epoch(t), sent: epoch(t), end: epoch(end) });
    }
  };
  const t0 = performance.now() + 5;
  /** When the next pair was first due but held back by MAX_IN_FLIGHT: its latency counts from then. */
  let heldSince: number | undefined;
  while (started < total) {
    const now = performance.now();
    while (started < total && t0 + (started * 1000) / rate <= now) {
      if (inFlight >= MAX_IN_FLIGHT) {
        heldSince ??= now;
        break;
      }
      const due = heldSince ?? now;
      heldSince = undefined;
      if (now - (t0 + (started * 1000) / rate) > 2) late++;
      inFlight++;
      const p = pair(started, due).finally(() => void inFlight--);
      // Handled now (Promise.all below reports it): a call failing before then would crash the process.
      p.catch(() => undefined);
      running.push(p);
      started++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(running);
  for (const c of clients) c.close();
  return { p50: pct(lat, 50), p99: pct(lat, 99), calls: lat.length, late };
}

const agentCpuSeconds = (): number => cpuSeconds(child.pid);

/** The agent's timeline so far (SIGUSR2 to its probe), the open loop's slow calls attributed, printed. */
async function traceOpenLoop() {
  const file = join(dir, 'probe.json');
  child.kill('SIGUSR2');
  for (let i = 0; !existsSync(file); i++) {
    if (i > 500) throw new Error('the agent did not write its trace (BENCH_TRACE)');
    await new Promise((r) => setTimeout(r, 10));
  }
  const agent = JSON.parse(readFileSync(file, 'utf8')) as ProbeData;
  const bench = (stopBenchProbe as () => ProbeData)();
  // BENCH_TRACE_OUT: the raw timelines and calls too, for a closer look.
  const out = process.env['BENCH_TRACE_OUT'];
  if (out) writeFileSync(out, JSON.stringify({ calls: traced, agent, bench }));
  const result = { agent_eld_ms: agent.eld, rates: attribute(traced, agent, bench) };
  for (const r of result.rates) console.log(`trace ${r.rate} pairs/s: ${JSON.stringify(r)}`);
  return result;
}

try {
  await serving(socket, 'aws-k8s-agent');
  if (other) await serving(join(dir, 'compare', 'ipamd.sock'), 'the agent to compare with');
  // One client alone first: the latency a single CNI ADD sees, without queueing behind 63 others.
  const solo: number[] = [];
  {
    const c = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 10_000 });
    for (let n = 0; n < 1_000; n++) {
      const t = performance.now();
      await c.call(CNIBackend.AddNetwork, req(`solo-${n}`));
      solo.push(performance.now() - t);
      await c.call(CNIBackend.DelNetwork, delReq(`solo-${n}`));
    }
    c.close();
  }
  const write = durableWrites(dir, JSON.stringify(POOL.map((ip) => ({ ip, containerID: 'x'.repeat(64) }))));
  const journal = journalWrites(dir);
  const disk = await fsyncFloor(dir, 1_000, RATE_SECONDS);
  const open: Record<number, { p50: number; p99: number; calls: number; late: number }> = {};
  for (const rate of RATES) open[rate] = await openLoop(rate, RATE_SECONDS);
  const trace = TRACE ? await traceOpenLoop() : undefined;
  const cpu0 = agentCpuSeconds();
  const clientCpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { adds, dels } = await saturate(socket, PAIRS, 'bench');
  const secs = (performance.now() - t0) / 1000;
  // CPU seconds of each side: where the time goes on this 2-core machine.
  const saturationCpu = agentCpuSeconds() - cpu0;
  const clientCpu = process.cpuUsage(clientCpu0);
  const agentCpu = agentCpuSeconds();
  const own = process.cpuUsage();
  const floorRun = await floor(dir, PAIRS);
  const floors = await floorHttp2(dir, Number(process.env['BENCH_FLOOR_ROUNDS'] ?? 10));
  const ab = other
    ? await compareAgents(
        { pid: child.pid, path: socket },
        { pid: other.pid, path: join(dir, 'compare', 'ipamd.sock') },
        Number(process.env['BENCH_COMPARE_ROUNDS'] ?? 10),
        // what this agent served before: the solo calls, the open-loop pairs and the saturation
        1_000 + Object.values(open).reduce((n, o) => n + Math.round(o.calls / 2), 0) + PAIRS,
      )
    : {};
  console.log(
    `cpu: agent ${agentCpu.toFixed(2)} s, clients ${((own.user + own.system) / 1e6).toFixed(2)} s, wall ${secs.toFixed(2)} s`,
  );
  console.log(`rpc: ${PAIRS} add+del pairs from ${CLIENTS} clients in ${secs.toFixed(2)} s`);
  for (const rate of RATES) {
    const o = open[rate];
    if (o)
      console.log(
        `open loop ${rate} pairs/s: ${o.calls} calls, p50 ${o.p50} ms, p99 ${o.p99} ms, ${o.late} pairs started late`,
      );
  }
  console.log(
    JSON.stringify({
      ...Object.fromEntries(
        RATES.flatMap((r) => [
          [`p50_ms_at_${r}`, open[r]?.p50],
          [`p99_ms_at_${r}`, open[r]?.p99],
        ]),
      ),
      saturation_pairs_per_s: Math.round(PAIRS / secs),
      durable_write_p50_ms: write.p50,
      durable_write_p99_ms: write.p99,
      journal_write_p50_ms: journal.p50,
      journal_write_p99_ms: journal.p99,
      // The disk alone at 1,000 records/s, open loop, written as the journal writes (rpc/disk.ts fsyncFloor):
      // what p99_ms_at_1000 cannot go below on this filesystem.
      fsync_floor_p50_ms_at_1000: disk.p50,
      fsync_floor_p99_ms_at_1000: disk.p99,
      fsync_floor_writes_at_1000: disk.writes,
      // The agent's CPU time per pair while saturated: its throughput ceiling on one idle core is about
      // 1e6 / this (the event loop is one thread; the writes run on the thread pool meanwhile).
      agent_cpu_us_per_pair: Math.round((saturationCpu * 1e6) / PAIRS),
      // The same for the 64 clients (this process, the light client aws-cni uses): they share the machine.
      client_cpu_us_per_pair: Math.round((clientCpu.user + clientCpu.system) / PAIRS),
      // The floor server's CPU per pair and throughput (same server code, handlers that answer at once).
      floor_cpu_us_per_pair: floorRun.cpuUsPerPair,
      floor_saturation_pairs_per_s: floorRun.pairsPerS,
      ...floors,
      cores: availableParallelism(),
      loadavg_end: Number(loadavg()[0]?.toFixed(1)),
      add_p50_ms: pct(adds, 50),
      add_p99_ms: pct(adds, 99),
      del_p50_ms: pct(dels, 50),
      del_p99_ms: pct(dels, 99),
      ops_per_s: Math.round((2 * PAIRS) / secs),
      // Little's law for this closed loop: 64 calls always in flight, so the mean latency is 64 / throughput;
      // a p99 of 2 ms would need more than 32,000 calls/s.
      littles_law_mean_ms: Number(((CLIENTS * 1000 * secs) / (2 * PAIRS)).toFixed(3)),
      solo_add_p50_ms: pct(solo, 50),
      solo_add_p99_ms: pct(solo, 99),
      ...ab,
      ...(trace ? { trace } : {}),
    }),
  );
} finally {
  // SIGTERM when profiling, so the agent can write its profile on the way out.
  child.kill(process.env['BENCH_AGENT_ARGV'] ? 'SIGTERM' : 'SIGKILL');
  other?.kill('SIGKILL');
  if (process.env['BENCH_AGENT_ARGV'] && child.exitCode === null && child.signalCode === null)
    await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
