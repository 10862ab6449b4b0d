// Runs the test projects one after another (unit, kernel, then e2e with one file at a time, since e2e files
// boot whole simulated nodes) and closes with the plain summary line CI reads:
//   tests: N passed, N failed, N skipped
// Extra arguments are passed to every vitest run (e.g. a path filter).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const runs = [
  { project: 'unit', args: [] },
  { project: 'kernel', args: [] },
  { project: 'e2e', args: ['--no-file-parallelism'] },
];

let passed = 0;
let failed = 0;
let skipped = 0;
let worst = 0;
for (const { project, args } of runs) {
  const out = `.vitest-results-${project}.json`;
  rmSync(out, { force: true });
  const run = spawnSync(
    'pnpm',
    [
      'exec',
      'vitest',
      'run',
      '--project',
      project,
      '--passWithNoTests',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
      ...args,
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  const code = run.status ?? 1;
  if (existsSync(out)) {
    const r = JSON.parse(readFileSync(out, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
    if (code !== 0 && r.numFailedTests === 0) failed += Math.max(1, r.numFailedTestSuites ?? 0);
    rmSync(out, { force: true });
  } else if (code !== 0) {
    failed += 1;
  }
  worst = Math.max(worst, code);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(worst !== 0 || failed > 0 || passed === 0 ? Math.max(worst, 1) : 0);
