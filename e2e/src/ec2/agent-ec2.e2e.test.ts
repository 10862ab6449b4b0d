// aws-k8s-agent against the simulated EC2 + IMDS (no static ENIs): it reads the node from IMDS, adopts the ENIs
// EC2 lists, pre-scales to the warm target, grows on demand for pods, and a restart adopts what is there
// without new EC2 mutations.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { startAgent } from '@vpc-cni/ipamd/agent';
import { Ec2Sim, ImdsSim, World } from './index.js';

describe('ipamd on a simulated m5.large', () => {
  const world = new World(['10.0.0.0/16']);
  const subnet = world.addSubnet('10.0.0.0/24', 'us-west-2a');
  const sg = world.addSecurityGroup('nodes');
  const inst = world.addInstance('m5.large', subnet.id);
  world.eni(inst.primaryEniId).groups.push(sg);
  const ec2 = new Ec2Sim(world);
  const imds = new ImdsSim(world, inst.id);
  const dir = mkdtempSync(join(tmpdir(), 'vct-agent-ec2-'));
  let env: Record<string, string> = {};
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], key: process.env['AWS_SECRET_ACCESS_KEY'] };

  beforeAll(async () => {
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIDEXAMPLE';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'secret';
    env = {
      AWS_EC2_ENDPOINT: await ec2.start(),
      AWS_EC2_METADATA_SERVICE_ENDPOINT: await imds.start(),
      VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
      AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
      DISABLE_INTROSPECTION: 'true',
      DISABLE_METRICS: 'true',
      CLUSTER_NAME: 'sim',
    };
  });
  afterAll(async () => {
    await ec2.stop();
    await imds.stop();
    rmSync(dir, { recursive: true, force: true });
    process.env['AWS_ACCESS_KEY_ID'] = saved.id;
    process.env['AWS_SECRET_ACCESS_KEY'] = saved.key;
    if (saved.id === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
    if (saved.key === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
  });

  it('pre-scales to WARM_ENI_TARGET, grows on demand to 27 pods, restarts without EC2 mutations', async () => {
    const agent = await startAgent(env, silentLogger, { hostNetworking: false });
    // Pre-scaling: the primary ENI got its 9 secondary addresses before any pod.
    expect(world.eni(inst.primaryEniId).secondaryIps).toHaveLength(9);
    expect(agent.ds.stats()).toMatchObject({ totalIPs: 9, assignedIPs: 0 });
    const client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}`, deadlineMs: 30_000 });
    const req = (i: number) => ({
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
      const replies = await Promise.all(
        Array.from({ length: 27 }, (_, i) => client.call(CNIBackend.AddNetwork, req(i))),
      );
      expect(new Set(replies.map((r) => r.IPAllocationMetadata[0]?.IPv4Addr)).size).toBe(27);
      expect(replies[0]?.VPCv4CIDRs).toEqual(['10.0.0.0/16']);
      expect(world.attachedEnis(inst.id)).toHaveLength(3);
      const devices = replies.map((r) => r.IPAllocationMetadata[0]?.DeviceNumber);
      expect(new Set(devices)).toEqual(new Set([0, 1, 2]));
    } finally {
      client.close();
      await agent.stop();
    }
    const mutations = () =>
      [
        'CreateNetworkInterface',
        'AttachNetworkInterface',
        'AssignPrivateIpAddresses',
        'DeleteNetworkInterface',
      ].reduce((n, a) => n + ec2.count(a), 0);
    const before = mutations();
    const again = await startAgent(env, silentLogger, { hostNetworking: false });
    try {
      expect(again.ds.eniList()).toHaveLength(3);
      expect(again.ds.stats()).toMatchObject({ totalIPs: 27, assignedIPs: 27 });
      expect(mutations()).toBe(before);
    } finally {
      await again.stop();
    }
  });
});
