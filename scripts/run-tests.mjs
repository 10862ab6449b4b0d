// Runs the test projects one after another (unit, kernel, then e2e with one file at a time, since e2e files
// boot whole simulated nodes) and closes with the plain summary line CI reads:
//   tests: N passed, N failed, N skipped
// The container image (`pnpm image`, scripts/image.sh) is built in the background while the unit and kernel tests
// run; the e2e files that run it as deployed (IMAGE_FILES) run last, once it is built. A failed image build is a
// failure. VPC_CNI_SKIP_IMAGE=1 opts out: no build, and those files skip themselves saying so.
// Extra arguments are passed to every vitest run (e.g. a path filter).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';

const SKIP_ENV = 'VPC_CNI_SKIP_IMAGE';
const IMAGE_FILES = ['e2e/src/image/', 'e2e/src/scenarios/image-mode'];
const IMAGE_LOG = 'dist/image-build.log';
const ARCHIVE = 'dist/image/vpc-cni-ts.oci.tar';
const extra = process.argv.slice(2);
const skipImage = process.env[SKIP_ENV] === '1';

let passed = 0;
let failed = 0;
let skipped = 0;
let worst = 0;
/** One line per failed test or file, repeated just before the summary so the tail of a CI log names them. */
const failures = [];
const say = (msg) => console.log(`run-tests: ${msg}`);

/** The image build, started now, in the background (output in IMAGE_LOG): resolves to its exit code. */
function buildImage() {
  mkdirSync('dist', { recursive: true });
  const log = openSync(IMAGE_LOG, 'w');
  const started = Date.now();
  const child = spawn('bash', ['scripts/image.sh'], { stdio: ['ignore', log, log] });
  closeSync(log);
  say(
    `building the image in the background (bash scripts/image.sh, log ${IMAGE_LOG}; ${SKIP_ENV}=1 skips it)`,
  );
  return new Promise((resolve) => {
    child.on('error', () => resolve({ code: 1, seconds: 0 }));
    // The exit is only seen once the synchronous vitest runs return, so the build's own duration is taken from
    // the last write to its log.
    child.on('exit', (code) =>
      resolve({ code: code ?? 1, seconds: Math.round((statSync(IMAGE_LOG).mtimeMs - started) / 1000) }),
    );
  });
}

/** The failed tests of a vitest JSON report, with the first line of each failure message. */
function failedIn(project, report) {
  const out = [];
  for (const file of report.testResults ?? []) {
    const tests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of tests) {
      const why = String(t.failureMessages?.[0] ?? '')
        .split('\n')[0]
        .slice(0, 300);
      out.push(`[${project}] ${file.name} > ${t.fullName}: ${why}`);
    }
    if (tests.length === 0 && file.status === 'failed')
      out.push(
        `[${project}] ${file.name}: ${String(file.message ?? '')
          .split('\n')[0]
          .slice(0, 300)}`,
      );
  }
  return out;
}

function vitest(project, args) {
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
    failures.push(...failedIn(project, r));
    rmSync(out, { force: true });
  } else if (code !== 0) {
    failed += 1;
  }
  worst = Math.max(worst, code);
}

const image = skipImage ? undefined : buildImage();
if (skipImage)
  say(`${SKIP_ENV}=1: the image is not built and the as-deployed e2e files (${IMAGE_FILES.join(', ')}) skip`);

// Unit files share their worker's module cache: importing the AWS SDK, client-node and the sources again for every
// file was two thirds of the unit time (docs/architecture.md, "Test phases").
vitest('unit', ['--no-isolate', ...extra]);
vitest('kernel', extra);
// With a path filter the e2e files run in one go (after the image); without, the image's files run last.
if (extra.length === 0)
  vitest('e2e', ['--no-file-parallelism', ...IMAGE_FILES.map((f) => `--exclude=${f}**`)]);
let imageOk = true;
if (image) {
  const { code, seconds } = await image;
  const lines = existsSync(IMAGE_LOG) ? readFileSync(IMAGE_LOG, 'utf8').trimEnd().split('\n') : [];
  if (code === 0) {
    say(`image built in ${seconds} s: ${lines.at(-1) ?? ''}`);
  } else {
    imageOk = false;
    console.log(lines.slice(-30).join('\n'));
    // No stale archive from an earlier build stands in for this one.
    rmSync(ARCHIVE, { force: true });
    rmSync(`${ARCHIVE}.id`, { force: true });
    say(
      `the image build failed (exit ${code}, log ${IMAGE_LOG}): its e2e files are not run and count as a failure`,
    );
    failed += 1;
    worst = Math.max(worst, 1);
  }
}
if (extra.length > 0) vitest('e2e', ['--no-file-parallelism', ...extra]);
else if (imageOk) vitest('e2e', ['--no-file-parallelism', ...IMAGE_FILES]);

if (failures.length > 0) console.log(['run-tests: failed:', ...failures.map((f) => `  ${f}`)].join('\n'));
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(worst !== 0 || failed > 0 || passed === 0 ? Math.max(worst, 1) : 0);
