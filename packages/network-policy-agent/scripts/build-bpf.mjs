// Compiles the eBPF C sources of bpf/ into the six object files the datapath loads (see README.md, "Datapath"):
//   tc.v4ingress.bpf.o tc.v4egress.bpf.o v4events.bpf.o  tc.v6ingress.bpf.o tc.v6egress.bpf.o v6events.bpf.o
// Output: <repo>/dist/bpf/ (next to dist/bin/, where the executables look for them). Needs clang (Debian
// `clang`, `llvm`, `libbpf-dev`: scripts/apt/bpf.txt, installed by scripts/bootstrap.sh).
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.env.NPA_BPF_OUT ?? resolve(pkg, '../../dist/bpf');
const clang = process.env.CLANG ?? 'clang';

try {
  execFileSync(clang, ['--version'], { stdio: 'ignore' });
} catch {
  console.error(
    `build-bpf: '${clang}' not found: the eBPF programs of the network policy agent need clang. ` +
      'Install it with `pnpm bootstrap` (scripts/apt/bpf.txt: clang, llvm, libbpf-dev) or set CLANG=<path>.',
  );
  process.exit(1);
}

const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch] ?? 'x86_64-linux-gnu';
const common = [
  '-O2',
  '-g',
  '-target',
  'bpf',
  '-Wall',
  '-Werror',
  `-I/usr/include/${multiarch}`,
  '-I',
  join(pkg, 'bpf'),
];
const objects = [];
for (const fam of ['v4', 'v6']) {
  const v6 = fam === 'v6' ? '1' : '0';
  objects.push({
    name: `tc.${fam}ingress.bpf.o`,
    src: 'tc.bpf.c',
    defs: [`-DNPA_V6=${v6}`, '-DNPA_INGRESS=1'],
  });
  objects.push({
    name: `tc.${fam}egress.bpf.o`,
    src: 'tc.bpf.c',
    defs: [`-DNPA_V6=${v6}`, '-DNPA_INGRESS=0'],
  });
  objects.push({ name: `${fam}events.bpf.o`, src: 'events.bpf.c', defs: [`-DNPA_V6=${v6}`] });
}
mkdirSync(out, { recursive: true });
for (const o of objects) {
  const dst = join(out, o.name);
  const tmp = `${dst}.${process.pid}.tmp`;
  try {
    execFileSync(clang, [...common, ...o.defs, '-c', join(pkg, 'bpf', o.src), '-o', tmp], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch {
    rmSync(tmp, { force: true });
    console.error(`build-bpf: clang failed on bpf/${o.src} for ${o.name} (see its messages above)`);
    process.exit(1);
  }
  renameSync(tmp, dst);
}
console.log(`build-bpf: ${objects.length} objects in ${out}`);
