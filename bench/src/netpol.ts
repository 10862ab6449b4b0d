// `pnpm bench netpol`: network policy enforcement. Datapath part: TCP throughput under a 1,000 CIDR × 24 port
// policy vs no policy and vs the equivalent iptables rules (netpol/throughput.ts). Agent part (netpol-enforce.ts):
// enforce latency (enforce_p50_ms / enforce_p99_ms) and the cost of the ADD's EnforceNpToPod call
// (strict_add_extra_ms and the medians, pool-served and inline), joined into the same JSON line.
// Env: BENCH_ROUNDS, BENCH_SECONDS (throughput), BENCH_NETPOL_PODS (ADDs per mode, pool-served).
import { measureThroughput } from './netpol/throughput.js';
import { benchNetpolEnforce } from './netpol-enforce.js';

const tput = await measureThroughput({
  rounds: Number(process.env.BENCH_ROUNDS ?? 5),
  seconds: Number(process.env.BENCH_SECONDS ?? 2),
});
const enforce = await benchNetpolEnforce({ pods: Number(process.env.BENCH_NETPOL_PODS ?? 20) });
console.log(JSON.stringify({ ...tput, ...enforce }));
