// Enhanced subnet discovery through the real agent (EC2 mode) against the simulator: a /27 node subnet runs dry
// under 50 pods, new ENIs go to the subnet tagged kubernetes.io/role/cni=1 in the secondary CIDR, never to the bigger
// subnet tagged 0, and DescribeSubnets is not called per pod.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { startAgent } from '@vpc-cni/ipamd/agent';
import { Sim } from './sim.js';

const NODE_SUBNET = 'subnet-0aaaaaaaaaaaaaaaa';
const TAGGED = 'subnet-0bbbbbbbbbbbbbbbb';
const EXCLUDED = 'subnet-0cccccccccccccccc';
const OTHER_AZ = 'subnet-0dddddddddddddddd';

describe('enhanced subnet discovery', () => {
  let sim: Sim;
  const dir = mkdtempSync(join(tmpdir(), 'vct-subnets-'));
  beforeAll(async () => {
    sim = await Sim.start({
      vpc: { cidrs: ['10.0.0.0/24', '100.64.0.0/16'] },
      subnets: [
        { id: NODE_SUBNET, cidr: '10.0.0.0/27', az: 'us-west-2a' },
        { id: TAGGED, cidr: '100.64.0.0/20', az: 'us-west-2a', tags: { 'kubernetes.io/role/cni': '1' } },
        // More free addresses than the tagged one, but tagged 0: never used.
        { id: EXCLUDED, cidr: '100.64.128.0/17', az: 'us-west-2a', tags: { 'kubernetes.io/role/cni': '0' } },
        // Tagged, bigger still, but in another AZ: an ENI cannot go there.
        { id: OTHER_AZ, cidr: '100.64.64.0/18', az: 'us-west-2b', tags: { 'kubernetes.io/role/cni': '1' } },
      ],
    });
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIASIMULATOR0000000';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'simulator-secret';
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
  });

  it('50 pods: the /27 runs dry, the tagged subnet takes the rest, the 0-tagged one is never used', async () => {
    const node = await sim.launch({ type: 'm5.2xlarge', subnetId: NODE_SUBNET });
    const env = {
      ...sim.envFor(node.instance.id),
      VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
      AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
      DISABLE_INTROSPECTION: 'true',
      DISABLE_METRICS: 'true',
      DISABLE_LEAKED_ENI_CLEANUP: 'true',
    };
    const agent = await startAgent(env, silentLogger, { hostNetworking: false });
    const client = new RpcClient({ endpoint: `unix://${env.VPC_CNI_IPAMD_SOCKET}`, deadlineMs: 30_000 });
    try {
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          client.call(CNIBackend.AddNetwork, {
            ContainerID: `sd-${i}`,
            IfName: 'eth0',
            NetworkName: 'aws-cni',
            K8S_POD_NAME: `p${i}`,
            K8S_POD_NAMESPACE: 'default',
            K8S_POD_INFRA_CONTAINER_ID: `sd-${i}`,
            Netns: '',
            ClientVersion: '',
            RequiresMultiNICAttachment: false,
          }),
        ),
      );
      const addrs = replies.map((r) => r.IPAllocationMetadata[0]?.IPv4Addr ?? '');
      expect(new Set(addrs).size).toBe(50);
      const inSubnet = (id: string) =>
        addrs.filter((a) => cidrContains(parseCidr(sim.world.subnet(id).cidr), a));
      expect(inSubnet(NODE_SUBNET).length + inSubnet(TAGGED).length).toBe(50);
      // A /27 holds 27 usable addresses, one of them the node's own: at least 24 pods had to go elsewhere.
      expect(inSubnet(NODE_SUBNET).length).toBeLessThanOrEqual(26);
      expect(inSubnet(TAGGED).length).toBeGreaterThanOrEqual(24);
      expect(sim.world.subnet(NODE_SUBNET).cidr).toBe('10.0.0.0/27');
      const enis = sim.world.enisOf(node.instance.id);
      expect(enis.some((e) => e.subnetId === TAGGED)).toBe(true);
      expect(enis.every((e) => e.subnetId !== EXCLUDED && e.subnetId !== OTHER_AZ)).toBe(true);
      // New ENIs in the tagged subnet carry the node's security groups.
      const primaryGroups = sim.world.eni(node.instance.primaryEniId).groups;
      for (const e of enis) expect(e.groups).toEqual(primaryGroups);
      // The listing is cached: a handful of DescribeSubnets (start, refresh after running dry), not one per pod.
      expect(sim.faults.counts()['DescribeSubnets'] ?? 0).toBeLessThanOrEqual(4);
    } finally {
      client.close();
      await agent.stop();
    }
  });
});
