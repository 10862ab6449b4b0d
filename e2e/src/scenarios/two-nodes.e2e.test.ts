// Two simulated m5.large nodes on one VPC fabric, pods created by each node's containerd (issue 9, default mode):
// 12 pods per node (so each node also serves pods from a second ENI); pods reach pods on the other node through
// the fabric, including secondary-ENI pods on both ends; pods reach the outside with the node's primary address
// (SNAT). With AWS_VPC_K8S_CNI_EXTERNALSNAT=true, pod traffic leaves with the pod's own address.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { type CriPod, createPod, deletePods, inParallel, podCanPing } from '../demo/cri-pods.js';
import { type Cluster, sourceSeenOutside, startCluster } from './cluster.js';
import { canRun } from './kit.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** `count` pods on every node, the nodes at once (each node's kubelet four at a time). */
async function podsOn(c: Cluster, count: number): Promise<CriPod[][]> {
  return Promise.all(
    c.nodes.map((n) =>
      inParallel(
        Array.from({ length: count }, (_, i) => i),
        4,
        (i) => createPod(n.cri, `${n.name}-${i}`, i),
      ),
    ),
  );
}

describe.skipIf(!canRun)('two nodes on one VPC fabric', () => {
  it('pods reach pods on the other node (primary and secondary ENIs) and the outside via SNAT', async () => {
    const c = (cluster = await startCluster({
      nodes: [
        { name: 'a', type: 'm5.large' },
        { name: 'b', type: 'm5.large' },
      ],
    }));
    const [a, b] = (await podsOn(c, 12)) as [CriPod[], CriPod[]];
    const device = (n: number, p: CriPod) =>
      c.sim.world.enisOf(c.nodes[n]!.instance.instance.id).find((e) => e.secondaryIps.includes(p.ip))
        ?.attachment?.deviceIndex;
    const aSecondary = a.find((p) => device(0, p) === 1)!;
    const bSecondary = b.find((p) => device(1, p) === 1)!;
    expect(aSecondary).toBeDefined();
    expect(bSecondary).toBeDefined();
    for (const [from, to] of [
      [a[0]!, b[0]!],
      [a[0]!, bSecondary],
      [aSecondary, b[0]!],
      [aSecondary, bSecondary],
      [bSecondary, aSecondary],
    ] as const)
      expect(podCanPing(from, to.ip), `${from.name} (${from.ip}) → ${to.name} (${to.ip})`).toBe(true);
    const primaryA = c.sim.world.eni(c.nodes[0]!.instance.instance.primaryEniId).primaryIp;
    expect(podCanPing(aSecondary, c.outsideIp)).toBe(true);
    expect(await sourceSeenOutside(c, aSecondary.pid)).toBe(primaryA);
    await Promise.all([a, b].map((pods, n) => deletePods(c.nodes[n]!.cri, pods)));
    expect(c.nodes.map((n) => n.allocations().size)).toEqual([0, 0]);
  }, 240_000);

  it('external SNAT: pod traffic leaves with the pod address', async () => {
    const c = (cluster = await startCluster({
      nodes: [{ name: 'x', type: 'm5.large' }],
      env: { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' },
    }));
    const [pods] = (await podsOn(c, 2)) as [CriPod[]];
    // No SNAT on the node: what arrives outside carries the pod's own address (an external NAT would translate
    // it), so the "internet", which knows only node addresses, cannot answer. Counted by iptables in the outside.
    const primary = c.sim.world.eni(c.nodes[0]!.instance.instance.primaryEniId).primaryIp;
    const outside = (...a: string[]) =>
      execFileSync('ip', ['netns', 'exec', c.fabric.outsideNs, 'iptables', ...a], { encoding: 'utf8' });
    for (const src of [pods[0]!.ip, primary]) outside('-I', 'INPUT', '-s', src, '-p', 'icmp');
    expect(podCanPing(pods[0]!, c.outsideIp)).toBe(false);
    const seen = (src: string) =>
      Number(
        outside('-L', 'INPUT', '-v', '-x', '-n')
          .split('\n')
          .find((l) => l.includes(` ${src} `))
          ?.trim()
          .split(/\s+/)[0] ?? -1,
      );
    expect(seen(pods[0]!.ip)).toBeGreaterThan(0);
    expect(seen(primary)).toBe(0);
    await deletePods(c.nodes[0]!.cri, pods);
  }, 240_000);
});
