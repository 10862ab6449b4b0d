// Enhanced subnet discovery through containerd (issue 10): the node's subnet is a tiny /27 of a /24 VPC CIDR
// (27 usable addresses), far too small for 50 pods; ipamd finds the subnet of its AZ tagged
// kubernetes.io/role/cni=1 in the VPC's secondary CIDR and creates its further ENIs there (the subnet with
// the most free addresses wins, as docs/architecture.md#subnet-discovery says), so every pod gets an address.
// A bigger subnet tagged =0 is never used, nor one in another AZ. Pods in the two subnets reach each other.
import { afterAll, describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import { type CriPod, createPod, podCanPing } from '../demo/cri-pods.js';
import { SG_1, SUBNET_A } from '../sim/testkit.js';
import { type ScenarioNode, canRun, startScenarioNode } from './kit.js';

const TAGGED = 'subnet-0eeeeeeeeeeeeeeee';
const EXCLUDED = 'subnet-0ffffffffffffffff';
const OTHER_AZ = 'subnet-0999999999999999a';

describe.skipIf(!canRun)('enhanced subnet discovery through containerd', () => {
  let n: ScenarioNode | undefined;
  afterAll(async () => {
    await n?.stop();
  });

  it('50 pods: more than the /27 node subnet holds; the tagged subnet supplies the rest, the =0 one never', async () => {
    n = await startScenarioNode({
      type: 'm5.xlarge', // 4 ENIs × 14 pod addresses
      world: {
        vpc: { id: 'vpc-0123456789abcdef0', cidrs: ['10.0.0.0/24', '100.64.0.0/16'] },
        subnets: [
          { id: SUBNET_A, cidr: '10.0.0.0/27', az: 'us-west-2a' },
          { id: TAGGED, cidr: '100.64.0.0/22', az: 'us-west-2a', tags: { 'kubernetes.io/role/cni': '1' } },
          // More free addresses than the tagged one: chosen if =0 did not exclude it.
          {
            id: EXCLUDED,
            cidr: '100.64.128.0/17',
            az: 'us-west-2a',
            tags: { 'kubernetes.io/role/cni': '0' },
          },
          { id: OTHER_AZ, cidr: '100.64.64.0/18', az: 'us-west-2b', tags: { 'kubernetes.io/role/cni': '1' } },
        ],
        securityGroups: [{ id: SG_1, name: 'nodes' }],
      },
    });
    const node = n;
    const pods: CriPod[] = [];
    // Five at a time, as kubelet starts pods in parallel.
    for (let i = 0; i < 50; i += 5)
      pods.push(
        ...(await Promise.all(
          Array.from({ length: 5 }, (_, j) => createPod(node.cri, `disc-${i + j}`, i + j)),
        )),
      );
    expect(new Set(pods.map((p) => p.ip)).size).toBe(50);
    const inSubnet = (id: string, ip: string) => cidrContains(parseCidr(node.sim.world.subnet(id).cidr), ip);
    const home = pods.filter((p) => inSubnet(SUBNET_A, p.ip));
    const discovered = pods.filter((p) => inSubnet(TAGGED, p.ip));
    expect(home.length + discovered.length).toBe(50);
    // At most 26 pods fit the /27 (27 usable, one is the node's own address): the rest came from discovery.
    expect(home.length).toBeLessThanOrEqual(26);
    expect(discovered.length).toBeGreaterThanOrEqual(24);
    const enis = node.sim.world.enisOf(node.instance.instance.id);
    expect(enis.map((e) => e.subnetId).filter((s) => s !== SUBNET_A && s !== TAGGED)).toEqual([]);
    expect(enis.some((e) => e.subnetId === TAGGED)).toBe(true);
    console.log(
      `subnet discovery: ${home.length} pods in the node /27, ${discovered.length} in the tagged subnet; ENIs by subnet: ${enis.map((e) => e.subnetId.slice(-4)).join(' ')}`,
    );
    // A pod in the node subnet and one in the discovered subnet reach each other.
    expect(podCanPing(home[0]!, discovered.at(-1)!.ip)).toBe(true);
  }, 300_000);
});
