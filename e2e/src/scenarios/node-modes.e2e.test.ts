// Pods through containerd on a simulated node in each addressing mode (issue 9): fill an m5.large to its 27 pod
// addresses (ENIs attach on demand; one more pod gets the capacity reason; after deleting all, surplus ENIs go back
// to EC2), prefix delegation packs pods into /28s on one ENI. Pods on one node ping each other in every mode. The
// IPv6 mode (pods from each node's /80, reaching each other on one node and across two) is in egress.e2e.test.ts's
// IPv6 cluster (netpol-ipv6.ts), which also enforces network policy.
import { afterEach, describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import { type CriPod, createPod, deletePods, inParallel, podCanPing } from '../demo/cri-pods.js';
import { type ScenarioNode, canRun, startScenarioNode } from './kit.js';

let current: ScenarioNode | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

/** Failed sandbox attempts (kubelet retries a failed RunPodSandbox; so does this harness, and says so). */
const retried: string[] = [];

const createWithRetry = async (n: ScenarioNode, name: string, i: number): Promise<CriPod> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createPod(n.cri, name, i);
    } catch (e) {
      if (attempt >= 4) throw e;
      retried.push(`${name}: ${String(e).slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 5_000));
    }
  }
};

const createMany = async (n: ScenarioNode, count: number, prefix: string): Promise<CriPod[]> => {
  // Four at a time, as kubelet starts pods in parallel.
  const ids = Array.from({ length: count }, (_, i) => i);
  const pods = await inParallel(ids, 4, (i) => createWithRetry(n, `${prefix}-${i}`, i));
  if (retried.length) console.log(`sandbox retries (as kubelet would):\n${retried.splice(0).join('\n')}`);
  return pods;
};

describe.skipIf(!canRun)('addressing modes through containerd', () => {
  it('secondary IPs: 27 pods fill 3 ENIs, the 28th gets the reason, deleting all frees the surplus ENIs', async () => {
    const n = (current = await startScenarioNode({ type: 'm5.large' }));
    const pods = await createMany(n, 27, 'fill');
    expect(new Set(pods.map((p) => p.ip)).size).toBe(27);
    expect(n.sim.world.enisOf(n.instance.instance.id)).toHaveLength(3);
    expect(podCanPing(pods[0]!, pods[26]!.ip)).toBe(true); // primary-ENI pod ↔ third-ENI pod, same node
    await expect(createPod(n.cri, 'one-too-many', 99)).rejects.toThrow(
      /no ENI slots left \(3\/3 ENIs, all full\)/,
    );
    await deletePods(n.cri, pods);
    expect(n.allocations().size).toBe(0);
    // ENIs younger than 60 s are never freed; then the pool manager returns the surplus (warm target: one ENI).
    const deadline = Date.now() + 120_000;
    const settled = () =>
      n.sim.world.enisOf(n.instance.instance.id).length === 1 &&
      [...n.sim.world.enis.values()].every((e) => e.status !== 'available'); // detached ones deleted too
    while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1_000));
    expect(n.sim.world.enisOf(n.instance.instance.id)).toHaveLength(1);
    expect([...n.sim.world.enis.values()].filter((e) => e.status === 'available')).toEqual([]);
  }, 240_000);

  it('prefix delegation: 20 pods in /28 prefixes of the primary ENI, no second ENI', async () => {
    const n = (current = await startScenarioNode({
      type: 'm5.large',
      env: { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' },
    }));
    const pods = await createMany(n, 20, 'pd');
    const enis = n.sim.world.enisOf(n.instance.instance.id);
    expect(enis).toHaveLength(1);
    const prefixes = enis[0]!.ipv4Prefixes.map(parseCidr);
    expect(prefixes.length).toBeGreaterThanOrEqual(2);
    expect(pods.every((p) => prefixes.some((c) => cidrContains(c, p.ip)))).toBe(true);
    expect(podCanPing(pods[0]!, pods[19]!.ip)).toBe(true);
    await deletePods(n.cri, pods);
  }, 180_000);
});
