// Branch-ENI pod tests need 802.1Q. They live in branch-*.guest.ts (node:test); the VLAN lab runs them in a
// QEMU guest with Debian's kernel when this kernel has no VLAN support (scripts/vlan-lab/README.md), directly
// otherwise, and each of their results becomes a vitest test here, so they count in the summary line.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runVlanLab } from '../../../scripts/vlan-lab/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const SEA = join(ROOT, 'dist/bin/aws-cni');

const lab = existsSync(SEA)
  ? await runVlanLab({
      // the longest first: node --test runs two files at a time
      files: ['branch-sgp.guest.ts', 'branch-pod.guest.ts', 'branch-traffic.guest.ts'].map((f) =>
        join(import.meta.dirname, f),
      ),
    })
  : undefined;

describe(`branch-ENI pods on a kernel with 802.1Q (${lab?.where ?? 'not run'})`, () => {
  it('the VLAN lab ran the branch-pod suite to the end', () => {
    expect(lab, `${SEA} is missing: run \`pnpm build\` first`).toBeDefined();
    const times = `boot ${Math.round(lab?.bootMs ?? 0)} ms, total ${Math.round(lab?.totalMs ?? 0)} ms`;
    console.log(
      `vlan-lab (${lab?.where}): ${lab?.tests.length} tests, ${times}; guest uptime: ${lab?.timeline.join(', ')}; ` +
        `reports in ${lab?.reportDir}`,
    );
    expect(lab?.problem).toBe('');
    expect(lab?.tests.length).toBeGreaterThan(0);
  });

  for (const t of lab?.tests ?? []) {
    const run = t.status === 'skip' || t.status === 'todo' ? it.skip : it;
    run(t.name, () => {
      if (t.status === 'fail') throw new Error(t.error ?? 'failed in the VLAN lab');
      expect(t.status).toBe('pass');
    });
  }
});
