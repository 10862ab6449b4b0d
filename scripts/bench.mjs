// `pnpm bench <name>`: builds the executables if missing, then runs bench/src/<name>.ts with tsx.
// Each benchmark prints one JSON object as its last line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const name = process.argv[2];
const available = readdirSync(join(root, 'bench/src'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !['index.ts', 'hello.ts'].includes(f))
  .map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  console.error(`usage: pnpm bench <name>; available: ${available.join(', ')}`);
  process.exit(2);
}
if (!existsSync(join(root, 'dist/bin/aws-cni')) || !existsSync(join(root, 'dist/bench/hello'))) {
  const b = spawnSync(process.execPath, [join(root, 'scripts/build-sea.mjs')], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const r = spawnSync(
  'pnpm',
  ['exec', 'tsx', join(root, 'bench/src', `${name}.ts`), ...process.argv.slice(3)],
  {
    stdio: 'inherit',
    cwd: root,
  },
);
process.exit(r.status ?? 1);
