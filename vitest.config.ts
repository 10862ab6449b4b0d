// Three test projects, picked by file name:
//   *.test.ts         unit: pure logic, no privileges
//   *.kernel.test.ts  kernel: root + throwaway network namespaces
//   *.e2e.test.ts     e2e: the simulated node (simulator, ipamd, containerd)
// scripts/run-tests.mjs runs the projects one after another, e2e files one at a time (they share the 2 cores).
// Unit and kernel files run two at a time (vitest's default on 2 cores is one), the longest first
// (scripts/vitest-sequencer.ts). Unit files run with --no-isolate (run-tests.mjs, `pnpm test:unit`): they share their
// worker's module cache (isolation is a pool-wide setting, so it cannot be set here for one project).
// docs/architecture.md, "Test phases".
import { defineConfig } from 'vitest/config';
import LongPolesFirst from './scripts/vitest-sequencer.js';

const roots = ['packages/*/src', 'packages/*/test', 'e2e/src', 'e2e/test', 'bench/src', 'scripts'];
const glob = (suffix: string) => roots.map((r) => `${r}/**/*${suffix}`);

export default defineConfig({
  test: {
    maxWorkers: 2,
    minWorkers: 1,
    sequence: { sequencer: LongPolesFirst },
    projects: [
      {
        test: {
          name: 'unit',
          include: glob('.test.ts'),
          exclude: [...glob('.kernel.test.ts'), ...glob('.e2e.test.ts'), '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'kernel',
          include: glob('.kernel.test.ts'),
          setupFiles: ['e2e/src/harness/drop-claims.setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: glob('.e2e.test.ts'),
          // removes what a killed earlier run left behind (docs/architecture.md, "Test harness")
          globalSetup: ['e2e/src/harness/global-setup.ts'],
          setupFiles: ['e2e/src/harness/drop-claims.setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
