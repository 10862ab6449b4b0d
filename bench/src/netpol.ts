// `pnpm bench netpol`: network policy enforcement. Datapath part: TCP throughput under a 1,000 CIDR × 24 port
// policy vs no policy and vs the equivalent iptables rules (netpol/throughput.ts). The agent's fields
// (enforce latency, strict ADD cost) merge into the same JSON line. Env: BENCH_ROUNDS, BENCH_SECONDS.
import { measureThroughput } from './netpol/throughput.js';

const tput = await measureThroughput({
  rounds: Number(process.env.BENCH_ROUNDS ?? 5),
  seconds: Number(process.env.BENCH_SECONDS ?? 2),
});
console.log(JSON.stringify({ ...tput }));
