// Start-up cost of aws-cni: `CNI_COMMAND=VERSION dist/bin/aws-cni` against a bare SEA hello-world built the same
// way (dist/bench/hello), 30 runs each, interleaved so machine noise hits both alike. Medians.
// A second round sets NODE_EXTRA_CA_CERTS in the caller's environment (common where a custom CA is configured
// machine-wide; container runtimes pass their environment to CNI plugins): Node 20 read the bundle at every
// start, Node 24 defers it until TLS is used.
// Last line: {"floor_ms":..,"aws_cni_version_ms":..,"ratio":..,"floor_ca_ms":..,"aws_cni_version_ca_ms":..,
//             "ratio_ca":..,"node":"v24..."}
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
const CA_BUNDLE = process.env.BENCH_CA_BUNDLE ?? '/etc/ssl/certs/ca-certificates.crt';

function round(env: Record<string, string>): { floorMs: number; cniMs: number } {
  // Warm the page cache for both files first.
  timeRun(hello, env);
  timeRun(awsCni, env);
  const floor: number[] = [];
  const cni: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    floor.push(timeRun(hello, env));
    cni.push(timeRun(awsCni, env));
  }
  return { floorMs: median(floor), cniMs: median(cni) };
}

const plain = round({ CNI_COMMAND: 'VERSION' });
const ca = round({ CNI_COMMAND: 'VERSION', NODE_EXTRA_CA_CERTS: CA_BUNDLE });
const embedded = spawnSync(hello, [], { env: { BENCH_PRINT_VERSION: '1' }, encoding: 'utf8' }).stdout.trim();
const r2 = (x: number): number => Number(x.toFixed(2));
console.log(
  `runs=${RUNS} runtime ${embedded || '?'}: floor p50=${plain.floorMs.toFixed(2)} ms, aws-cni VERSION p50=${plain.cniMs.toFixed(2)} ms; ` +
    `with NODE_EXTRA_CA_CERTS: floor ${ca.floorMs.toFixed(2)} ms, aws-cni ${ca.cniMs.toFixed(2)} ms`,
);
console.log(
  JSON.stringify({
    floor_ms: r2(plain.floorMs),
    aws_cni_version_ms: r2(plain.cniMs),
    ratio: Number((plain.cniMs / plain.floorMs).toFixed(3)),
    floor_ca_ms: r2(ca.floorMs),
    aws_cni_version_ca_ms: r2(ca.cniMs),
    ratio_ca: Number((ca.cniMs / ca.floorMs).toFixed(3)),
    node: embedded || null,
  }),
);
