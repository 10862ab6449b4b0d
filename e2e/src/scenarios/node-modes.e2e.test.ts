// Pods through containerd on a simulated node in each addressing mode (issue 9): fill an m5.large to its 27 pod
// addresses (ENIs attach on demand; one more pod gets the capacity reason; after deleting all, surplus ENIs go back
// to EC2), prefix delegation packs pods into /28s on one ENI, an IPv6 node gives pods addresses from its /80.
// Pods on one node ping each other in every mode. The IPv6 node has two network cards and ENABLE_MULTI_NIC: a
// multi-NIC pod gets one IPv6 address per card, each interface's traffic leaves over its own card's ENI.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import { type CriPod, createPod, deletePod, deletePods, inParallel, podCanPing } from '../demo/cri-pods.js';
import { type ScenarioNode, canRun, multiNicPod, pingFrom, startScenarioNode, txPackets } from './kit.js';

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

const inNode = (n: ScenarioNode, ...args: string[]) =>
  execFileSync('ip', ['-n', n.nodeNs, ...args], { encoding: 'utf8' });
/** The node link's IPv6 link-local address, once the link has carrier and the address has passed DAD. */
const linkLocal = async (n: ScenarioNode, dev: string): Promise<string> => {
  for (let i = 0; ; i++) {
    const [l] = JSON.parse(inNode(n, '-j', '-6', 'addr', 'show', 'dev', dev, 'scope', 'link')) as {
      addr_info: { local?: string; tentative?: boolean }[];
    }[];
    // (ip -j leaves an empty entry for each address the scope filter drops)
    const a = l?.addr_info.find((x) => x.local && !x.tentative)?.local;
    if (a) return a;
    if (i >= 100) throw new Error(`${dev} has no IPv6 link-local address after 10 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
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

  it('IPv6 on a two-card type with ENABLE_MULTI_NIC: pods get addresses from the node /80; a multi-NIC pod gets eth0 + mNicIf1 with one IPv6 address per card, each sending over its own card; DEL leaves no rule or route', async () => {
    const n = (current = await startScenarioNode({
      type: 'hpc7a.12xlarge',
      ipv6: true,
      // Default settings: ENABLE_V4_EGRESS is on, so egress-cni gives every pod IPv4 egress too (egress.e2e.test.ts).
      env: {
        ENABLE_IPv6: 'true',
        ENABLE_IPv4: 'false',
        ENABLE_PREFIX_DELEGATION: 'true',
        ENABLE_MULTI_NIC: 'true',
      },
    }));
    const pods = await createMany(n, 6, 'v6');
    const prefix = n.sim.world.eni(n.instance.instance.primaryEniId).ipv6Prefixes[0]!;
    expect(pods.every((p) => cidrContains(parseCidr(prefix), p.ip))).toBe(true);
    expect(podCanPing(pods[0]!, pods[5]!.ip)).toBe(true);

    // card 1: ipamd created an ENI with one IPv6 address and gave it a /80; its link has table 10100
    const card1 = n.sim.world
      .enisOf(n.instance.instance.id)
      .filter((e) => e.attachment!.networkCardIndex === 1);
    expect(card1.map((e) => [e.ipv6Addresses.length, e.ipv6Prefixes.length])).toEqual([[1, 1]]);
    const eni1 = card1[0]!;
    expect(inNode(n, '-6', 'route', 'show', 'table', '10100')).toMatch(/default via fe80:ec2::1 dev c1eth0/);
    expect(inNode(n, '-6', 'rule')).toContain(`from ${eni1.ipv6Addresses[0]} lookup 10100`);

    const m = await multiNicPod(n.cri, 'v6-multi', 6);
    expect(Object.keys(m.addrs).sort()).toEqual(['eth0', 'mNicIf1']);
    const [a0] = m.addrs['eth0']!;
    const [a1] = m.addrs['mNicIf1']!;
    expect(cidrContains(parseCidr(prefix), a0!)).toBe(true);
    expect(cidrContains(parseCidr(eni1.ipv6Prefixes[0]!), a1!)).toBe(true);
    expect(inNode(n, '-6', 'rule')).toContain(`from ${a1} lookup 10100`);

    // The VPC router behind each card's ENI (fe80:ec2::1 in the far namespace) and an address beyond it; eth0's
    // route to it as router advertisements would give the node.
    const far = '2600:1f14:abc:de02::99';
    const ipPark = (...a: string[]) => execFileSync('ip', ['-n', n.parkNs, ...a]);
    ipPark('addr', 'add', `${far}/128`, 'dev', 'lo');
    const links = [
      ['p0', 'eth0', a0!],
      ['p1c0', 'c1eth0', a1!],
    ] as const;
    for (const [park] of links) {
      ipPark('link', 'set', park, 'up');
      ipPark('-6', 'addr', 'add', 'fe80:ec2::1/64', 'dev', park, 'nodad');
    }
    for (const [park, node, podAddr] of links)
      ipPark('-6', 'route', 'add', `${podAddr}/128`, 'via', await linkLocal(n, node), 'dev', park);
    inNode(n, '-6', 'route', 'add', `${far}/128`, 'via', 'fe80:ec2::1', 'dev', 'eth0');
    for (const [from, link, other] of [
      [a1!, 'c1eth0', 'eth0'],
      [a0!, 'eth0', 'c1eth0'],
    ] as const) {
      const before = [txPackets(n.nodeNs, link), txPackets(n.nodeNs, other)];
      expect(pingFrom(m.pid, from, far)).toBe(true);
      expect(txPackets(n.nodeNs, link) - before[0]!).toBeGreaterThanOrEqual(5);
      expect(txPackets(n.nodeNs, other) - before[1]!).toBeLessThan(5);
    }

    await deletePod(n.cri, m);
    for (const a of [a0!, a1!]) {
      expect(inNode(n, '-6', 'rule')).not.toContain(a);
      expect(inNode(n, '-6', 'route', 'show', 'table', 'all')).not.toContain(a);
    }
    await deletePods(n.cri, pods);
    expect(n.allocations().size).toBe(0);
  }, 180_000);
});
