// Multi-NIC pod traffic on the VPC fabric (two hpc7a.12xlarge nodes, 2 network cards each, ENABLE_MULTI_NIC=true):
// a multi-NIC pod on node A reaches a pod on node B from eth0 over card 0's ENI and from mNicIf1 over card 1's ENI
// (frames counted on the node's link of each card).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, runPod, startCluster } from './cluster.js';
import { canRun } from './kit.js';

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

/** Frames the node sent out of a link (its ENI). */
const txPackets = (netns: string, link: string): number =>
  (
    JSON.parse(execFileSync('ip', ['-n', netns, '-s', '-j', 'link', 'show', link], { encoding: 'utf8' })) as {
      stats64: { tx: { packets: number } };
    }[]
  )[0]!.stats64.tx.packets;

/** The pod's address on one of its interfaces. */
const addrOf = (pid: number, dev: string): string =>
  (
    JSON.parse(
      execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-j', '-4', 'addr', 'show', dev], {
        encoding: 'utf8',
      }),
    ) as { addr_info: { local: string }[] }[]
  )[0]!.addr_info[0]!.local;

/**
 * Ping from one of the pod's addresses (as a multi-homed application binds its socket to an address; the pod's
 * per-interface rule `from <address> lookup <i>` then picks the interface).
 */
const ping = (pid: number, from: string, ip: string): boolean => {
  try {
    execFileSync(
      'nsenter',
      [`--net=/proc/${pid}/ns/net`, 'ping', '-c', '5', '-i', '0.2', '-W', '1', '-I', from, ip],
      {
        stdio: 'ignore',
      },
    );
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!canRun)('multi-NIC pod traffic over each card (VPC fabric)', () => {
  it('eth0 leaves through card 0, mNicIf1 through card 1; both reach a pod on another node', async () => {
    const [a, b] = c!.nodes as [Cluster['nodes'][number], Cluster['nodes'][number]];
    const target = await runPod(c!, b, 'target', 1);
    const id = await a.cri.runPodSandbox({
      name: 'multi',
      namespace: 'default',
      uid: `uid-multi-${process.pid}`,
      annotations: { 'k8s.amazonaws.com/nicConfig': 'multi-nic-attachment' },
    });
    const { pid } = await a.cri.status(id);

    const before1 = txPackets(a.netns, 'c1eth0');
    expect(ping(pid, addrOf(pid, 'mNicIf1'), target.ip)).toBe(true);
    expect(txPackets(a.netns, 'c1eth0') - before1).toBeGreaterThanOrEqual(5);

    const before0 = { eth0: txPackets(a.netns, 'eth0'), c1: txPackets(a.netns, 'c1eth0') };
    expect(ping(pid, addrOf(pid, 'eth0'), target.ip)).toBe(true);
    expect(txPackets(a.netns, 'eth0') - before0.eth0).toBeGreaterThanOrEqual(5);
    expect(txPackets(a.netns, 'c1eth0') - before0.c1).toBeLessThan(5);

    await a.cri.stopPodSandbox(id);
    await a.cri.removePodSandbox(id);
  });
});
