// The real aws-k8s-agent in a node netns against the EC2/IMDS simulator, with hot-plugged links: each ENI the
// simulator attaches appears as eth<device> with the ENI's MAC (a minimal hot-plug here; the VPC fabric does this
// with routing). ipamd reads IMDS at 169.254.169.254 inside the node, grows to 3 ENIs for 20 pods, brings every
// new ENI up with its own route table and rule; after kill -9 it restarts, adopts the ENIs without EC2 mutations
// and keeps every pod's address.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { Sim } from '../sim/index.js';
import { SG_1, SUBNET_A, smallWorld } from '../sim/testkit.js';
import { SimNode, linkHotplug } from './index.js';
import { addOwnedNetns } from '../harness/owner.js';

const AGENT = resolve(import.meta.dirname, '../../../dist/bin/aws-k8s-agent');
const tag = randomBytes(3).toString('hex');
const NODE_NS = `vct-simnode-${tag}`;
const VPC_NS = `vct-simvpc-${tag}`;
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const ipj = <T>(...args: string[]) => JSON.parse(ip('-j', ...args) || '[]') as T[];

describe('ipamd in a node netns against the simulator', () => {
  let sim: Sim;
  let node: SimNode;
  const mutations = () =>
    [
      'CreateNetworkInterface',
      'AttachNetworkInterface',
      'AssignPrivateIpAddresses',
      'DeleteNetworkInterface',
    ].reduce((n, a) => n + (sim.faults.counts()[a] ?? 0), 0);

  beforeAll(async () => {
    addOwnedNetns(NODE_NS);
    addOwnedNetns(VPC_NS);
    sim = await Sim.start({ ...smallWorld(), faults: { attachDelayMs: 300 } });
    // Hot-plug: a link with the ENI's MAC appears in the node (down, as a new NIC); eth0 comes up configured.
    linkHotplug(sim, () => undefined, NODE_NS, VPC_NS);
    const n = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    node = new SimNode({ sim, node: n, netns: NODE_NS, agentBinary: AGENT, env: { MY_NODE_NAME: 'node-a' } });
  });
  afterAll(async () => {
    await node?.stop();
    await sim?.stop();
    for (const ns of [NODE_NS, VPC_NS]) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('grows to 3 plumbed ENIs for 20 pods, and a kill -9 restart adopts them and keeps every address', async () => {
    await node.startAgent();
    const client = new RpcClient({ endpoint: `unix://${node.socket}`, deadlineMs: 60_000 });
    const add = (i: number) =>
      client.call(CNIBackend.AddNetwork, {
        ContainerID: `c${i}`,
        IfName: 'eth0',
        NetworkName: 'aws-cni',
        K8S_POD_NAME: `p${i}`,
        K8S_POD_NAMESPACE: 'default',
        K8S_POD_INFRA_CONTAINER_ID: `c${i}`,
        Netns: '',
        ClientVersion: '',
        RequiresMultiNICAttachment: false,
      });
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => add(i)));
      const byIp = new Map(
        replies.map((r) => [r.IPAllocationMetadata[0]!.IPv4Addr, r.IPAllocationMetadata[0]!]),
      );
      expect(byIp.size).toBe(20);
      const enis = sim.world.enisOf(node.instanceId);
      expect(enis).toHaveLength(3);
      const subnet = parseCidr(sim.world.subnet(SUBNET_A).cidr);
      expect([...byIp.keys()].every((a) => cidrContains(subnet, a))).toBe(true);
      for (const e of enis.filter((x) => x.attachment!.deviceIndex > 0)) {
        const dev = e.attachment!.deviceIndex;
        const link = ipj<{ address: string; mtu: number; flags: string[] }>(
          '-n',
          NODE_NS,
          'link',
          'show',
          `eth${dev}`,
        )[0]!;
        expect(link.address).toBe(e.mac);
        expect(link.mtu).toBe(9001);
        expect(link.flags).toContain('UP');
        const table = ipj<{ dst: string; gateway?: string }>(
          '-n',
          NODE_NS,
          'route',
          'show',
          'table',
          String(dev + 1),
        );
        expect(table).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.0.1.1' }));
        const rules = ipj<{ priority: number; src?: string; table?: string }>('-n', NODE_NS, 'rule');
        expect(rules).toContainEqual(
          expect.objectContaining({ priority: 32765, src: e.primaryIp, table: String(dev + 1) }),
        );
        // Pods on this ENI use its table.
        for (const a of e.secondaryIps) if (byIp.has(a)) expect(byIp.get(a)!.RouteTableId).toBe(dev + 1);
      }

      // Let the pool manager top the warm pool up first (2.5 s rounds): what follows must be the restart alone.
      let before = mutations();
      for (let stable = 0; stable < 3;) {
        await new Promise((r) => setTimeout(r, 2_500));
        const now = mutations();
        stable = now === before ? stable + 1 : 0;
        before = now;
      }
      await node.agent!.kill();
      await node.startAgent();
      expect(mutations()).toBe(before);
      // Same pods, same addresses: the ADDs are idempotent against the restored checkpoint.
      const again = await Promise.all(Array.from({ length: 20 }, (_, i) => add(i)));
      expect(again.map((r) => r.IPAllocationMetadata[0]!.IPv4Addr)).toEqual(
        replies.map((r) => r.IPAllocationMetadata[0]!.IPv4Addr),
      );
    } finally {
      client.close();
    }
  });
});
