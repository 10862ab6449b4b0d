// Runs every test project (unit, kernel, e2e) with vitest and closes with the plain summary line
// "tests: N passed, N failed, N skipped" that CI reads. Exit code is vitest's.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const out = '.vitest-results.json';
rmSync(out, { force: true });
const args = [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${out}`,
  ...process.argv.slice(2),
];
const run = spawnSync('pnpm', ['exec', ...args], { stdio: 'inherit' });

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests + (r.numFailedTestSuites ?? 0);
  skipped = r.numPendingTests + r.numTodoTests;
} catch {
  failed = Math.max(failed, 1);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
const code = run.status ?? 1;
process.exit(code !== 0 ? code : failed > 0 || passed === 0 ? 1 : 0);
