// The order test files are handed to vitest's workers. Without a results cache (a clean clone, as in CI) vitest
// starts the largest files first, which put the VLAN lab (branch-pod.kernel.test.ts: a small file that waits ~160 s
// for a QEMU guest) last, alone on one worker. The files known to take longest go first, so the other worker runs
// everything else beside them (docs/architecture.md, "Test phases").
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Longest first: the VLAN lab (QEMU guest), then the network policy lab. */
export const LONG_POLES = [
  'packages/cni-plugin/test/branch-pod.kernel.test.ts',
  'e2e/src/netpol/cases.kernel.test.ts',
];

const rank = (f: TestSpecification) => {
  const i = LONG_POLES.findIndex((p) => f.moduleId.endsWith(p));
  return i < 0 ? LONG_POLES.length : i;
};

export default class LongPolesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // a stable sort: the rest keep the order vitest chose
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
      .map(({ f }) => f);
  }
}
