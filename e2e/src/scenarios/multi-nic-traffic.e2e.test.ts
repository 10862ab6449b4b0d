// Multi-NIC pod traffic on the VPC fabric (two hpc7a.12xlarge nodes, 2 network cards each, ENABLE_MULTI_NIC=true):
// a multi-NIC pod on node A reaches a pod on node B from eth0 over card 0's ENI and from mNicIf1 over card 1's ENI
// (frames counted on the node's link of each card).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, runPod, startCluster } from './cluster.js';
import { deletePod } from '../demo/cri-pods.js';
import { canRun, multiNicPod, pingFrom, txPackets } from './kit.js';

const TYPE = 'hpc7a.12xlarge';
let c: Cluster | undefined;

beforeAll(async () => {
  if (!canRun) return;
  c = await startCluster({
    nodes: [
      { name: 'node-a', type: TYPE },
      { name: 'node-b', type: TYPE },
    ],
    env: { ENABLE_MULTI_NIC: 'true', DISABLE_LEAKED_ENI_CLEANUP: 'true' },
  });
}, 240_000);
afterAll(async () => {
  await c?.stop();
});

describe.skipIf(!canRun)('multi-NIC pod traffic over each card (VPC fabric)', () => {
  it('eth0 leaves through card 0, mNicIf1 through card 1; both reach a pod on another node', async () => {
    const [a, b] = c!.nodes as [Cluster['nodes'][number], Cluster['nodes'][number]];
    const target = await runPod(c!, b, 'target', 1);
    const m = await multiNicPod(a.cri, 'multi');
    const { pid } = m;
    const [eth0] = m.addrs['eth0']!;
    const [mNicIf1] = m.addrs['mNicIf1']!;

    const before1 = txPackets(a.netns, 'c1eth0');
    expect(pingFrom(pid, mNicIf1!, target.ip)).toBe(true);
    expect(txPackets(a.netns, 'c1eth0') - before1).toBeGreaterThanOrEqual(5);

    const before0 = { eth0: txPackets(a.netns, 'eth0'), c1: txPackets(a.netns, 'c1eth0') };
    expect(pingFrom(pid, eth0!, target.ip)).toBe(true);
    expect(txPackets(a.netns, 'eth0') - before0.eth0).toBeGreaterThanOrEqual(5);
    expect(txPackets(a.netns, 'c1eth0') - before0.c1).toBeLessThan(5);

    await deletePod(a.cri, m);
  });
});
