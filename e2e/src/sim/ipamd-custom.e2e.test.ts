// Custom networking through the real agent (EC2 mode) against the simulator, with this node's ENIConfig given
// directly (the Kubernetes lookup is tested on its own): pod addresses come only from the ENIConfig subnet, ENIs
// carry its security groups (or the node's when it names none), the primary ENI gets no pod addresses, a missing
// ENIConfig is a clear error with no ENI created anywhere, and a changed ENIConfig affects only new ENIs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EniConfigView } from '@vpc-cni/ipamd/eni';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { startAgent } from '@vpc-cni/ipamd/agent';
import { Sim } from './sim.js';

const NODE_SUBNET = 'subnet-0aaaaaaaaaaaaaaaa';
const POD_SUBNET_A = 'subnet-0cccccccccccccccc';
const POD_SUBNET_B = 'subnet-0dddddddddddddddd';
const SG_NODE = 'sg-01111111111111111';
const SG_PODS = 'sg-02222222222222222';

describe('custom networking', () => {
  let sim: Sim;
  const dirs: string[] = [];
  beforeAll(async () => {
    sim = await Sim.start({
      vpc: { cidrs: ['10.0.0.0/16', '100.64.0.0/16'] },
      subnets: [
        { id: NODE_SUBNET, cidr: '10.0.1.0/24', az: 'us-west-2a' },
        { id: POD_SUBNET_A, cidr: '100.64.0.0/19', az: 'us-west-2a' },
        { id: POD_SUBNET_B, cidr: '100.64.32.0/19', az: 'us-west-2a' },
      ],
      securityGroups: [
        { id: SG_NODE, name: 'nodes' },
        { id: SG_PODS, name: 'pods' },
      ],
    });
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIASIMULATOR0000000';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'simulator-secret';
  });
  afterAll(async () => {
    await sim?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
  });

  async function start(view: { current: EniConfigView }) {
    // m5.xlarge: 4 ENIs × 14 pod addresses; with custom networking the primary's do not count.
    const node = await sim.launch({ type: 'm5.xlarge', subnetId: NODE_SUBNET, groups: [SG_NODE] });
    const dir = mkdtempSync(join(tmpdir(), 'vct-custom-'));
    dirs.push(dir);
    const env = {
      ...sim.envFor(node.instance.id),
      VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
      AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
      DISABLE_INTROSPECTION: 'true',
      DISABLE_METRICS: 'true',
      DISABLE_LEAKED_ENI_CLEANUP: 'true',
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
      VPC_CNI_ADD_WAIT_SECONDS: '5',
    };
    const agent = await startAgent(env, silentLogger, {
      hostNetworking: false,
      eniConfigSource: { current: async () => view.current },
    });
    const client = new RpcClient({ endpoint: `unix://${env.VPC_CNI_IPAMD_SOCKET}`, deadlineMs: 30_000 });
    let n = 0;
    const add = () =>
      client.call(CNIBackend.AddNetwork, {
        ContainerID: `cn-${node.instance.id}-${n}`,
        IfName: 'eth0',
        NetworkName: 'aws-cni',
        K8S_POD_NAME: `p${n++}`,
        K8S_POD_NAMESPACE: 'default',
        K8S_POD_INFRA_CONTAINER_ID: '',
        Netns: '',
        ClientVersion: '',
        RequiresMultiNICAttachment: false,
      });
    return { node, agent, client, add, stop: async () => (client.close(), await agent.stop()) };
  }

  const inSubnet = (id: string, ip: string) => cidrContains(parseCidr(sim.world.subnet(id).cidr), ip);

  it('pods get addresses only from the ENIConfig subnet, on ENIs with its groups; a change affects new ENIs only', async () => {
    const view = { current: { name: 'us-west-2a', subnet: POD_SUBNET_A, securityGroups: [SG_PODS] } };
    const x = await start(view);
    try {
      const first = await Promise.all(Array.from({ length: 12 }, () => x.add()));
      const addrs = first.map((r) => r.IPAllocationMetadata[0]?.IPv4Addr ?? '');
      expect(addrs.every((a) => inSubnet(POD_SUBNET_A, a))).toBe(true);
      expect(sim.world.eni(x.node.instance.primaryEniId).secondaryIps).toEqual([]);
      const podEnis = sim.world
        .enisOf(x.node.instance.id)
        .filter((e) => e.id !== x.node.instance.primaryEniId);
      expect(podEnis.length).toBeGreaterThanOrEqual(1);
      for (const e of podEnis) {
        expect(e.subnetId).toBe(POD_SUBNET_A);
        expect(e.groups).toEqual([SG_PODS]);
      }
      expect(first.every((r) => (r.IPAllocationMetadata[0]?.DeviceNumber ?? 0) > 0)).toBe(true);

      // The ENIConfig now names another subnet and no groups: only ENIs created from now on follow it.
      view.current = { name: 'us-west-2a', subnet: POD_SUBNET_B, securityGroups: [] };
      const more = await Promise.all(Array.from({ length: 20 }, () => x.add())); // needs at least one new ENI
      const after = sim.world.enisOf(x.node.instance.id).filter((e) => e.id !== x.node.instance.primaryEniId);
      expect(
        after
          .filter((e) => e.subnetId === POD_SUBNET_A)
          .map((e) => e.id)
          .sort(),
      ).toEqual(podEnis.map((e) => e.id).sort());
      const newer = after.filter((e) => e.subnetId === POD_SUBNET_B);
      expect(newer.length).toBeGreaterThanOrEqual(1);
      for (const e of newer) expect(e.groups).toEqual([SG_NODE]);
      const moreAddrs = more.map((r) => r.IPAllocationMetadata[0]?.IPv4Addr ?? '');
      expect(moreAddrs.every((a) => inSubnet(POD_SUBNET_A, a) || inSubnet(POD_SUBNET_B, a))).toBe(true);
    } finally {
      await x.stop();
    }
  });

  it('a missing ENIConfig: a clear error, no ENI created, no address from the node subnet', async () => {
    const x = await start({ current: { name: 'missing', securityGroups: [] } });
    try {
      await expect(x.add()).rejects.toMatchObject({
        details: expect.stringContaining('ENIConfig "missing" is not available'),
      });
      expect(sim.world.enisOf(x.node.instance.id).map((e) => e.id)).toEqual([x.node.instance.primaryEniId]);
      expect(sim.world.eni(x.node.instance.primaryEniId).secondaryIps).toEqual([]);
    } finally {
      await x.stop();
    }
  });
});
