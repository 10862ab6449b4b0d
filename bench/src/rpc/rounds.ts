// The rpc benchmark's comparison rounds (bench/src/rpc.ts): the floor server (./floor-server.ts) saturated alone,
// the floor on node:http2 against our own HTTP/2 in alternating rounds, and this agent against another build in
// alternating rounds (BENCH_COMPARE_ARGV), so a loaded machine's drift hits both sides alike.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { cpuSeconds, saturate, serving } from './calls.js';

/** Pairs per alternating round. */
const PER_ROUND = 1_000;

/** Starts a floor server (./floor-server.ts) on `path`, on the given HTTP/2 (the default when absent). */
function startFloor(path: string, http2?: 'node' | 'own'): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--max-semi-space-size=1',
      ...process.execArgv,
      join(import.meta.dirname, 'floor-server.ts'),
      path,
      ...(http2 ? [http2] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

/**
 * The floor: the same server code and V8 flags as the agent with handlers that answer at once, `pairs` pairs
 * saturated as the agent is. Its CPU per pair is what no change inside ipamd can remove.
 */
export async function floor(
  dir: string,
  pairs: number,
): Promise<{ cpuUsPerPair: number; pairsPerS: number }> {
  const path = join(dir, 'floor.sock');
  const server = startFloor(path);
  try {
    await serving(path, 'the floor server');
    await saturate(path, 1_000, 'floor-warm');
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    await saturate(path, pairs, 'floor');
    const secs = (performance.now() - t0) / 1000;
    return {
      cpuUsPerPair: Math.round(((cpuSeconds(server.pid) - cpu0) * 1e6) / pairs),
      pairsPerS: Math.round(pairs / secs),
    };
  } finally {
    server.kill('SIGKILL');
  }
}

interface Side {
  pid: number | undefined;
  path: string;
  cpu: number;
  secs: number;
}

/** `rounds` alternating saturated rounds over the sides (order reversed every other round), summed per side. */
async function alternateRounds(sides: Side[], rounds: number, prefix: string): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (const [i, s] of (r % 2 === 0 ? sides : [...sides].reverse()).entries()) {
      const c0 = cpuSeconds(s.pid);
      const t0 = performance.now();
      await saturate(s.path, PER_ROUND, `${prefix}-${i}-${r}`);
      s.secs += (performance.now() - t0) / 1000;
      s.cpu += cpuSeconds(s.pid) - c0;
    }
  }
}

/**
 * The floor server on node:http2 and on our own HTTP/2 framing, side by side, saturated in alternating rounds:
 * CPU per pair of each and their ratio (floor_own_vs_node_cpu).
 */
export async function floorHttp2(dir: string, rounds: number) {
  const servers: ChildProcess[] = [];
  const sides: Side[] = [];
  try {
    // One after the other: two tsx start-ups at once can starve each other under a real-time priority (chrt).
    for (const kind of ['node', 'own'] as const) {
      const path = join(dir, `floor-${kind}.sock`);
      const server = startFloor(path, kind);
      servers.push(server);
      sides.push({ pid: server.pid, path, cpu: 0, secs: 0 });
      await serving(path, `the floor server on ${kind} HTTP/2`);
      await saturate(path, 1_000, `warm-${kind}`);
    }
    await alternateRounds(sides, rounds, 'fl');
    const [n, o] = sides as [Side, Side];
    return {
      floor_node_cpu_us_per_pair: Math.round((n.cpu * 1e6) / (rounds * PER_ROUND)),
      floor_own_cpu_us_per_pair: Math.round((o.cpu * 1e6) / (rounds * PER_ROUND)),
      floor_own_vs_node_cpu: Number((o.cpu / n.cpu).toFixed(3)),
      floor_node_pairs_per_s: Math.round((rounds * PER_ROUND) / n.secs),
      floor_own_pairs_per_s: Math.round((rounds * PER_ROUND) / o.secs),
    };
  } finally {
    for (const s of servers) s.kill('SIGKILL');
  }
}

/**
 * Alternating saturated rounds against this agent and the other: CPU per pair and pairs/s of each. The other agent
 * first serves `warmPairs` (as many pairs as this one served before the rounds): without that its JIT is colder and
 * whichever build sits on the `compare` side measured 20-40% more CPU per pair.
 */
export async function compareAgents(
  self: { pid: number | undefined; path: string },
  other: { pid: number | undefined; path: string },
  rounds: number,
  warmPairs: number,
) {
  await saturate(other.path, warmPairs, 'ab-warm');
  const sides: Side[] = [
    { ...self, cpu: 0, secs: 0 },
    { ...other, cpu: 0, secs: 0 },
  ];
  await alternateRounds(sides, rounds, 'ab');
  const [a, b] = sides as [Side, Side];
  return {
    ab_rounds: rounds,
    ab_this_cpu_us_per_pair: Math.round((a.cpu * 1e6) / (rounds * PER_ROUND)),
    ab_compare_cpu_us_per_pair: Math.round((b.cpu * 1e6) / (rounds * PER_ROUND)),
    ab_this_pairs_per_s: Math.round((rounds * PER_ROUND) / a.secs),
    ab_compare_pairs_per_s: Math.round((rounds * PER_ROUND) / b.secs),
  };
}
