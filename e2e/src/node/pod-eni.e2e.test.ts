// Security groups for pods, compatible path, with the real aws-k8s-agent in a node netns (ENABLE_POD_ENI=true):
// ipamd adds SecurityGroupsForPods to the node's CNINode; the test then plays the VPC resource controller
// (creates and attaches a trunk ENI through the EC2 simulator, creates a branch ENI, associates it under a VLAN
// and annotates the pod); ipamd adopts the trunk, answers the branch pod with its VLAN, MAC, gateway and the
// trunk's real link index in the node, and keeps ordinary pods on pool addresses. Kernel wiring of branch pods
// needs 802.1Q, which this VM's kernel lacks: the plugin's plans for them are unit-tested.
import { execFileSync } from 'node:child_process';
import {
  AssociateTrunkInterfaceCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNIBackend, RpcClient, type AddNetworkReply } from '@vpc-cni/shared/rpc';
import type { KubeApiSim } from '../kube/index.js';
import type { Sim } from '../sim/index.js';
import { SG_1, SG_2, SUBNET_A } from '../sim/testkit.js';
import type { SimNode } from './index.js';
import { addRequest, podEniWorld, type PodEniWorld } from './pod-eni-kit.js';

const ipj = <T>(...args: string[]) =>
  JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' }) || '[]') as T[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('security groups for pods (compatible path) in a node netns', () => {
  let sim: Sim;
  let kube: KubeApiSim;
  let node: SimNode;
  let ec2: EC2Client;

  let world: PodEniWorld;

  beforeAll(async () => {
    world = await podEniWorld({
      name: 'sgp',
      seed: (k) =>
        k.api.store.create('vpcresources.k8s.aws/cninodes', undefined, {
          metadata: { name: 'node-a' },
          spec: { features: [] },
        }),
      env: {
        ENABLE_POD_ENI: 'true',
        WARM_ENI_TARGET: '0',
        WARM_IP_TARGET: '2',
        VPC_CNI_ADD_WAIT_SECONDS: '2',
        IP_COOLDOWN_PERIOD: '0', // the filler pods' addresses are reused at once
      },
    });
    ({ sim, kube, node, ec2 } = world);
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('serves a branch pod from its annotation with the trunk link index; other pods use the pool', async () => {
    await node.startAgent();
    const features = () =>
      (
        kube.api.store.get('vpcresources.k8s.aws/cninodes', undefined, 'node-a')['spec'] as {
          features: unknown[];
        }
      ).features;
    expect(features()).toEqual([{ name: 'SecurityGroupsForPods' }]);

    // Until a trunk is attached, the pool keeps one ENI slot free for it: on an m5.large (3 ENIs × 9 pod
    // addresses) ordinary pods get 18 addresses on 2 ENIs, and the 19th is refused with that reason.
    const fill = new RpcClient({ endpoint: `unix://${node.socket}`, deadlineMs: 30_000 });
    const fillReq = (i: number) => addRequest(`fill-${i}`, 'shop', `fill-${i}`);
    for (let i = 0; i < 18; i++)
      kube.put(
        'pods',
        { metadata: { name: `fill-${i}` }, spec: { nodeName: 'node-a', containers: [{ name: 'c' }] } },
        'shop',
      );
    kube.put(
      'pods',
      { metadata: { name: 'fill-18' }, spec: { nodeName: 'node-a', containers: [{ name: 'c' }] } },
      'shop',
    );
    const filled = await Promise.all(
      Array.from({ length: 18 }, (_, i) => fill.call(CNIBackend.AddNetwork, fillReq(i))),
    );
    expect(filled.every((r) => r.Success)).toBe(true);
    const refused = (await fill.call(CNIBackend.AddNetwork, fillReq(18)).catch((e: unknown) => e)) as Error;
    expect(String(refused)).toMatch(/no ENI slots left \(2\/3 ENIs.*kept for the trunk ENI/);
    for (let i = 0; i < 18; i++)
      await fill.call(CNIBackend.DelNetwork, { ...fillReq(i), Reason: 'PodDeleted', K8S_POD_UID: '' });
    fill.close();

    // The resource controller: a trunk on the kept slot, a branch ENI under VLAN 5, the pod annotated.
    const used = new Set(sim.world.enisOf(node.instanceId).map((e) => e.attachment!.deviceIndex));
    expect(used).toEqual(new Set([0, 1]));
    const slot = 2;
    const create = async (InterfaceType: 'trunk' | 'branch', Groups: string[]) =>
      (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: SUBNET_A, InterfaceType, Groups })))
        .NetworkInterface!;
    const trunk = await create('trunk', [SG_1]);
    await ec2.send(
      new AttachNetworkInterfaceCommand({
        NetworkInterfaceId: trunk.NetworkInterfaceId!,
        InstanceId: node.instanceId,
        DeviceIndex: slot,
      }),
    );
    const branch = await create('branch', [SG_2]);
    await ec2.send(
      new AssociateTrunkInterfaceCommand({
        BranchInterfaceId: branch.NetworkInterfaceId!,
        TrunkInterfaceId: trunk.NetworkInterfaceId!,
        VlanId: 5,
      }),
    );
    const subnetCidr = sim.world.subnet(SUBNET_A).cidr;
    const annotation = JSON.stringify([
      {
        eniId: branch.NetworkInterfaceId,
        ifAddress: branch.MacAddress,
        privateIp: branch.PrivateIpAddress,
        vlanId: 5,
        subnetCidr,
        associationID: 'trunk-assoc-1',
      },
    ]);
    kube.put(
      'pods',
      {
        metadata: { name: 'web', annotations: { 'vpc.amazonaws.com/pod-eni': annotation } },
        spec: {
          nodeName: 'node-a',
          containers: [{ name: 'c', resources: { limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }],
        },
      },
      'shop',
    );
    kube.put(
      'pods',
      { metadata: { name: 'plain' }, spec: { nodeName: 'node-a', containers: [{ name: 'c' }] } },
      'shop',
    );

    const client = new RpcClient({ endpoint: `unix://${node.socket}`, deadlineMs: 30_000 });
    const req = (name: string) => addRequest(name, 'shop');
    try {
      // Like kubelet: the ADD is refused until ipamd has adopted the trunk, then succeeds.
      let reply: AddNetworkReply | undefined;
      let refusals = 0;
      for (const until = Date.now() + 30_000; Date.now() < until; refusals++) {
        reply = await client.call(CNIBackend.AddNetwork, req('web'));
        if (reply.Success) break;
        await sleep(1_000);
      }
      const trunkLink = ipj<{ ifindex: number; address: string }>('-n', world.nodeNs, 'link').find(
        (l) => l.address === trunk.MacAddress,
      );
      expect(trunkLink, 'the hot-plugged trunk link').toBeDefined();
      const gw = subnetCidr.replace(/\.0\/\d+$/, '.1');
      expect(reply).toMatchObject({
        Success: true,
        IPAllocationMetadata: [{ IPv4Addr: branch.PrivateIpAddress, DeviceNumber: -1, RouteTableId: 0 }],
        PodVlanId: 5,
        PodENIMAC: branch.MacAddress,
        PodENISubnetGW: gw,
        ParentIfIndex: trunkLink!.ifindex,
      });
      console.log(`branch pod served after ${refusals} refusal(s) while the trunk was being adopted`);

      const plain = await client.call(CNIBackend.AddNetwork, req('plain'));
      expect(plain).toMatchObject({ Success: true, PodVlanId: 0, ParentIfIndex: 0 });
      expect(plain.IPAllocationMetadata[0]!.IPv4Addr).not.toBe(branch.PrivateIpAddress);

      // DEL: the branch pod is not in the datastore; its VLAN and address come back for the teardown.
      const del = await client.call(CNIBackend.DelNetwork, {
        ...req('web'),
        Reason: 'PodDeleted',
        K8S_POD_UID: '',
      });
      expect(del).toMatchObject({
        Success: true,
        PodVlanId: 5,
        IPAllocationMetadata: [{ IPv4Addr: branch.PrivateIpAddress }],
      });
      // The trunk is never given pod addresses or freed by the pool.
      const trunkNow = sim.world.enisOf(node.instanceId).find((e) => e.id === trunk.NetworkInterfaceId);
      expect(trunkNow?.secondaryIps ?? []).toEqual([]);
    } finally {
      client.close();
    }
  }, 90_000);
});
