// Security groups for pods without the VPC resource controller (VPC_CNI_MANAGE_BRANCH_ENIS=true): the real
// aws-k8s-agent in a node netns attaches a trunk ENI itself; a pod matching a SecurityGroupPolicy
// (role: test-role) gets a branch ENI with the policy's group under a VLAN of the trunk, recorded in its
// pod-eni annotation; other pods use the pool; a policy naming a group EC2 does not know fails the ADD with
// that cause and a Warning event on the pod; DEL deletes the branch ENI; after a kill -9 the branch ENI of a pod
// deleted meanwhile is swept and a live pod's is kept. With custom networking as well, the trunk and the branch
// ENIs go to the ENIConfig subnet, and other pods get addresses from the custom-networking ENIs there.
import { DescribeTrunkInterfaceAssociationsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNIBackend, GrpcStatus, RpcClient, RpcError, type AddNetworkReply } from '@vpc-cni/shared/rpc';
import type { KubeApiSim } from '../kube/index.js';
import type { Sim } from '../sim/index.js';
import { SG_1, SG_2, SUBNET_A } from '../sim/testkit.js';
import type { SimNode } from './index.js';
import { addRequest, podEniOf, podEniWorld, type PodEniWorld } from './pod-eni-kit.js';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SGP = 'vpcresources.k8s.aws/securitygrouppolicies';

describe('self-managed branch ENIs (no resource controller)', () => {
  let sim: Sim;
  let kube: KubeApiSim;
  let node: SimNode;
  let ec2: EC2Client;

  let world: PodEniWorld;

  beforeAll(async () => {
    world = await podEniWorld({
      name: 'sm',
      seed: (k) => {
        const policy = (name: string, role: string, groupIds: string[]) =>
          k.api.store.create(SGP, 'shop', {
            metadata: { name, namespace: 'shop' },
            spec: { podSelector: { matchLabels: { role } }, securityGroups: { groupIds } },
          });
        policy('test-policy', 'test-role', [SG_2]);
        policy('bad-policy', 'bad-role', ['sg-0123456789abcdef0']);
      },
      env: {
        ENABLE_POD_ENI: 'true',
        VPC_CNI_MANAGE_BRANCH_ENIS: 'true',
        WARM_ENI_TARGET: '0',
        WARM_IP_TARGET: '2',
      },
    });
    ({ sim, kube, node, ec2 } = world);
  });
  afterAll(async () => {
    await world?.stop();
  });

  const pod = (name: string, role?: string) =>
    kube.put(
      'pods',
      {
        metadata: { name, ...(role ? { labels: { role } } : {}) },
        spec: { nodeName: 'node-a', containers: [{ name: 'c' }] },
      },
      'shop',
    );
  const req = (name: string) => addRequest(name, 'shop');
  /** Retries refusals as kubelet does (the trunk may still be attaching). */
  async function addUntilServed(client: RpcClient, name: string): Promise<AddNetworkReply> {
    for (const until = Date.now() + 30_000; ;) {
      const r = await client.call(CNIBackend.AddNetwork, req(name));
      if (r.Success || Date.now() > until) return r;
      await sleep(1_000);
    }
  }
  const eni = (id: string) => sim.world.eni(id);
  const exists = (id: string) => {
    try {
      sim.world.eni(id);
      return true;
    } catch {
      return false;
    }
  };

  it('creates, wires and deletes branch ENIs for matching pods; sweeps them after a restart; follows pod deletions', async () => {
    await node.startAgent();
    const client = new RpcClient({ endpoint: `unix://${node.socket}`, deadlineMs: 30_000 });
    try {
      pod('web', 'test-role');
      pod('plain');
      const web = await addUntilServed(client, 'web');
      expect(web).toMatchObject({ Success: true, ParentIfIndex: expect.any(Number) });
      expect(web.PodVlanId).toBeGreaterThanOrEqual(1);
      const trunk = sim.world.enisOf(node.instanceId).find((e) => e.interfaceType === 'trunk')!;
      expect(trunk, 'the trunk ipamd attached').toBeDefined();
      expect(trunk.groups).toEqual([SG_1]);
      const annotation = podEniOf(kube, 'shop', 'web')!;
      const branch = eni(annotation[0]!.eniId);
      expect(branch).toMatchObject({ interfaceType: 'branch', groups: [SG_2], subnetId: trunk.subnetId });
      expect(web).toMatchObject({
        PodVlanId: annotation[0]!.vlanId,
        PodENIMAC: branch.mac,
        IPAllocationMetadata: [{ IPv4Addr: branch.primaryIp, DeviceNumber: -1 }],
      });
      const assoc = await ec2.send(
        new DescribeTrunkInterfaceAssociationsCommand({
          Filters: [{ Name: 'trunk-interface-association.branch-interface-id', Values: [branch.id] }],
        }),
      );
      expect(assoc.InterfaceAssociations).toMatchObject([
        { TrunkInterfaceId: trunk.id, VlanId: web.PodVlanId },
      ]);

      // Not selected by any policy: a pool address.
      const plain = await client.call(CNIBackend.AddNetwork, req('plain'));
      expect(plain).toMatchObject({ Success: true, PodVlanId: 0 });

      // A policy naming a group EC2 does not know: the ADD fails with that cause, and the pod gets an event.
      pod('bad', 'bad-role');
      const err = (await client.call(CNIBackend.AddNetwork, req('bad')).catch((e: unknown) => e)) as RpcError;
      expect(err).toBeInstanceOf(RpcError);
      expect(err.code).toBe(GrpcStatus.FAILED_PRECONDITION);
      expect(err.details).toMatch(/sg-0123456789abcdef0.*does not exist/);
      expect(kube.api.store.list('/events', 'shop')).toContainEqual(
        expect.objectContaining({
          type: 'Warning',
          reason: 'SecurityGroupNotFound',
          involvedObject: expect.objectContaining({ kind: 'Pod', name: 'bad' }),
        }),
      );

      // DEL: the branch ENI is deleted and the annotation removed.
      const del = await client.call(CNIBackend.DelNetwork, {
        ...req('web'),
        Reason: 'PodDeleted',
        K8S_POD_UID: '',
      });
      expect(del).toMatchObject({ Success: true, PodVlanId: web.PodVlanId });
      expect(exists(branch.id), 'branch ENI after DEL').toBe(false);
      expect(
        (
          kube.api.store.get('/pods', 'shop', 'web').metadata['annotations'] as
            Record<string, string> | undefined
        )?.['vpc.amazonaws.com/pod-eni'],
      ).toBeUndefined();

      // A pod deleted while ipamd is down: its branch ENI is swept when ipamd comes back.
      pod('web2', 'test-role');
      const web2 = await addUntilServed(client, 'web2');
      expect(web2.Success).toBe(true);
      const eni2 = podEniOf(kube, 'shop', 'web2')![0]!.eniId;
      expect(exists(eni2)).toBe(true);
      pod('web3', 'test-role'); // stays: its branch ENI must survive the restart
      const web3 = await addUntilServed(client, 'web3');
      expect(web3.Success).toBe(true);
      const eni3 = podEniOf(kube, 'shop', 'web3')![0]!.eniId;
      await node.agent!.kill();
      kube.api.store.delete('/pods', 'shop', 'web2');
      await node.startAgent();
      for (const until = Date.now() + 15_000; exists(eni2) && Date.now() < until;) await sleep(250);
      expect(exists(eni2), 'branch ENI of the deleted pod').toBe(false);
      expect(exists(eni3), 'branch ENI of the live pod').toBe(true);
      expect((await client.call(CNIBackend.AddNetwork, req('web3'))).PodVlanId).toBe(web3.PodVlanId);
      // The trunk stays, and is not re-created.
      expect(sim.world.enisOf(node.instanceId).filter((e) => e.interfaceType === 'trunk')).toHaveLength(1);

      // A pod deleted from the API while ipamd runs, with no DEL (kubelet gone): the pod watch removes its
      // branch ENI at once, well before the next 30 s sweep.
      kube.api.store.delete('/pods', 'shop', 'web3');
      for (const until = Date.now() + 5_000; exists(eni3) && Date.now() < until;) await sleep(100);
      expect(exists(eni3), 'branch ENI of a pod deleted without DEL').toBe(false);
    } finally {
      client.close();
    }
  }, 120_000);
});

describe('self-managed branch ENIs with custom networking', () => {
  const PODS = 'subnet-0cccccccccccccccc';
  const SG_PODS = 'sg-03333333333333333';
  let sim: Sim;
  let kube: KubeApiSim;
  let node: SimNode;
  let world: PodEniWorld;

  beforeAll(async () => {
    world = await podEniWorld({
      name: 'smcn',
      world: {
        subnets: [
          { id: SUBNET_A, cidr: '10.0.1.0/24', az: 'us-west-2a' },
          { id: PODS, cidr: '100.64.0.0/19', az: 'us-west-2a' },
        ],
        securityGroups: [
          { id: SG_1, name: 'nodes' },
          { id: SG_2, name: 'policy' },
          { id: SG_PODS, name: 'pods' },
        ],
      },
      nodeLabels: { 'k8s.amazonaws.com/eniConfig': 'pods-a' },
      seed: (k) => {
        k.put('crd.k8s.amazonaws.com/eniconfigs', {
          metadata: { name: 'pods-a' },
          spec: { subnet: PODS, securityGroups: [SG_PODS] },
        });
        k.api.store.create(SGP, 'shop', {
          metadata: { name: 'test-policy', namespace: 'shop' },
          spec: { podSelector: { matchLabels: { role: 'test-role' } }, securityGroups: { groupIds: [SG_2] } },
        });
      },
      env: {
        ENABLE_POD_ENI: 'true',
        VPC_CNI_MANAGE_BRANCH_ENIS: 'true',
        AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
        WARM_ENI_TARGET: '0',
        WARM_IP_TARGET: '2',
      },
    });
    ({ sim, kube, node } = world);
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('matching pods get branch ENIs in the ENIConfig subnet, the others custom-networking addresses there', async () => {
    await node.startAgent();
    const client = new RpcClient({ endpoint: `unix://${node.socket}`, deadlineMs: 30_000 });
    const req = (name: string) => addRequest(name, 'shop');
    try {
      for (const [name, role] of [
        ['web', 'test-role'],
        ['plain', undefined],
      ] as const)
        kube.put(
          'pods',
          {
            metadata: { name, ...(role ? { labels: { role } } : {}) },
            spec: { nodeName: 'node-a', containers: [{ name: 'c' }] },
          },
          'shop',
        );
      let web: AddNetworkReply | undefined;
      for (const until = Date.now() + 30_000; Date.now() < until;) {
        web = await client.call(CNIBackend.AddNetwork, req('web'));
        if (web.Success) break;
        await sleep(1_000);
      }
      const plain = await client.call(CNIBackend.AddNetwork, req('plain'));
      const enis = sim.world.enisOf(node.instanceId);
      const trunk = enis.find((e) => e.interfaceType === 'trunk')!;
      expect(trunk).toMatchObject({ subnetId: PODS, groups: [SG_PODS] });
      const annotation = podEniOf(kube, 'shop', 'web')!;
      const branch = sim.world.eni(annotation[0]!.eniId);
      expect(branch).toMatchObject({ interfaceType: 'branch', subnetId: PODS, groups: [SG_2] });
      expect(web).toMatchObject({ Success: true, PodENISubnetGW: '100.64.0.1' });
      const inPods = (ip: string) => cidrContains(parseCidr(sim.world.subnet(PODS).cidr), ip);
      expect(inPods(web!.IPAllocationMetadata[0]!.IPv4Addr)).toBe(true);
      expect(plain).toMatchObject({ Success: true, PodVlanId: 0 });
      expect(inPods(plain.IPAllocationMetadata[0]!.IPv4Addr)).toBe(true);
      // The custom-networking ENI the ordinary pod's address is on: the ENIConfig's subnet and groups.
      const host = enis.find((e) => e.secondaryIps.includes(plain.IPAllocationMetadata[0]!.IPv4Addr))!;
      expect(host).toMatchObject({ subnetId: PODS, groups: [SG_PODS], interfaceType: 'interface' });
    } finally {
      client.close();
    }
  }, 90_000);
});
