// The max-pods-calculator program on simulated nodes: --instance-type-from-imds reads the node's type from the
// simulator's IMDS and gives what --instance-type gives for that type.
import { maxPodsCommand } from '@vpc-cni/ipamd/max-pods';
import { afterEach, expect, it } from 'vitest';
import type { Sim } from './sim.js';
import { SG_1, SUBNET_A, startSmall } from './testkit.js';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
});

async function run(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const code = await maxPodsCommand(argv, env, (fd, line) => {
    if (fd === 1) out.push(line);
  });
  return { code, out: out.join('\n') };
}

it('reads the instance type from IMDS on the node', async () => {
  sim = await startSmall();
  for (const [type, expected] of [
    ['m5.large', '29'],
    ['m5.4xlarge', '110'],
    ['c5.18xlarge', '250'],
  ] as const) {
    const node = await sim.launch({ type, subnetId: SUBNET_A, groups: [SG_1] });
    const env = { AWS_EC2_METADATA_SERVICE_ENDPOINT: node.imdsUrl };
    const fromImds = await run(['--instance-type-from-imds', '--cni-version', '1.18.0'], env);
    const named = await run(['--instance-type', type, '--cni-version', '1.18.0']);
    expect(fromImds, type).toEqual({ code: 0, out: expected });
    expect(named.out, type).toBe(expected);
  }
});
