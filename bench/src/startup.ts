// Start-up cost of aws-cni: `CNI_COMMAND=VERSION dist/bin/aws-cni` against a bare SEA hello-world built the same
// way (dist/bench/hello), 30 runs each, interleaved so machine noise hits both alike. Medians.
// Last line: {"floor_ms":..,"aws_cni_version_ms":..,"ratio":..}
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);

function timeRun(exe: string, env: Record<string, string>): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(exe, [], { env, input: '', stdio: ['pipe', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${exe} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const hello = join(root, 'dist/bench/hello');
const awsCni = join(root, 'dist/bin/aws-cni');
const env = { CNI_COMMAND: 'VERSION' };
// Warm the page cache for both files first.
timeRun(hello, env);
timeRun(awsCni, env);
const floor: number[] = [];
const cni: number[] = [];
for (let i = 0; i < RUNS; i++) {
  floor.push(timeRun(hello, env));
  cni.push(timeRun(awsCni, env));
}
const floorMs = median(floor);
const cniMs = median(cni);
console.log(`runs=${RUNS} floor p50=${floorMs.toFixed(2)} ms, aws-cni VERSION p50=${cniMs.toFixed(2)} ms`);
console.log(
  JSON.stringify({
    floor_ms: Number(floorMs.toFixed(2)),
    aws_cni_version_ms: Number(cniMs.toFixed(2)),
    ratio: Number((cniMs / floorMs).toFixed(3)),
  }),
);
