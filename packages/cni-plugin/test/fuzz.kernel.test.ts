// Our own fuzz suite for aws-cni (issue 22): seeded random walks of CNI calls against the built plugin, the real
// ipamd with static ENIs in a throwaway netns, and ipamd going away between calls. Seeds: FUZZ_SEED=<n> replays
// one (FUZZ_STEPS sets the walk length); otherwise the fixed CI seeds below run. Each seed prints itself first.
import { describe, expect, it } from 'vitest';
import { fuzz } from './fuzz/driver.js';
import { World } from './fuzz/world.js';

const SEEDS = process.env['FUZZ_SEED'] ? [Number(process.env['FUZZ_SEED'])] : [0x5eed1, 0xc0ffee, 0x22];
const STEPS = Number(process.env['FUZZ_STEPS'] ?? 40);
const missing = World.check();

describe.skipIf(missing !== undefined)('aws-cni fuzz (seeded; FUZZ_SEED=<seed> replays one)', () => {
  it.each(SEEDS)(
    'seed %i: every run answers properly and the node holds exactly what the pods own',
    async (seed) => {
      console.log(`aws-cni fuzz: seed ${seed} (replay: FUZZ_SEED=${seed} FUZZ_STEPS=${STEPS})`);
      const report = await fuzz(seed, STEPS);
      console.log(`aws-cni fuzz: seed ${seed}: ${report.runs} runs, ${report.violations.length} violations`);
      console.log(`aws-cni fuzz: seed ${seed}: ${JSON.stringify(report.tally)}`);
      expect(report.runs).toBeGreaterThan(STEPS / 2);
      expect(report.violations).toEqual([]);
    },
    240_000,
  );
});
