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
import type { Node, Sim } from './sim.js';
import { SG_1, SUBNET_A, startSmall } from './testkit.js';

describe('ipamd on a simulated m5.large', () => {
  let sim: Sim;
  let node: Node;
  const dir = mkdtempSync(join(tmpdir(), 'vct-agent-ec2-'));
  let env: Record<string, string> = {};
  // The agent's EC2 client takes credentials from the process environment (SDK default chain).
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], key: process.env['AWS_SECRET_ACCESS_KEY'] };

  beforeAll(async () => {
    sim = await startSmall();
    node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIASIMULATOR0000000';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'simulator-secret';
    env = {
      ...sim.envFor(node.instance.id),
      VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
      AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
      DISABLE_INTROSPECTION: 'true',
      DISABLE_METRICS: 'true',
      CLUSTER_NAME: 'sim',
    };
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.key],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('pre-scales to WARM_ENI_TARGET, grows on demand to 27 pods, restarts without EC2 mutations', async () => {
    const agent = await startAgent(env, silentLogger, { hostNetworking: false });
    // Pre-scaling: the primary ENI got its 9 secondary addresses before any pod.
    expect(sim.world.eni(node.instance.primaryEniId).secondaryIps).toHaveLength(9);
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
      expect(replies[0]?.VPCv4CIDRs).toEqual(sim.world.vpc.cidrs); // primary and secondary CIDR
      expect(sim.world.enisOf(node.instance.id)).toHaveLength(3);
      const devices = replies.map((r) => r.IPAllocationMetadata[0]?.DeviceNumber);
      expect(new Set(devices)).toEqual(new Set([0, 1, 2]));
      // Every EC2 call is counted by action, with the same totals the simulator saw.
      const counted = await agent.metrics.registry.getSingleMetric('awscni_ec2api_req_count')!.get();
      const byFn = Object.fromEntries(counted.values.map((v) => [String(v.labels['fn']), v.value]));
      for (const a of ['CreateNetworkInterface', 'AttachNetworkInterface', 'AssignPrivateIpAddresses'])
        expect(byFn[a]).toBe(sim.faults.counts()[a]);
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
      ].reduce((n, a) => n + (sim.faults.counts()[a] ?? 0), 0);
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

describe('ipamd on a simulated IPv6 node', () => {
  let sim: Sim;
  let node: Node;
  const dir = mkdtempSync(join(tmpdir(), 'vct-agent-ec2v6-'));
  beforeAll(async () => {
    sim = await startSmall();
    node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
  });

  it('assigns one /80 to the primary ENI, hands out pod addresses from it, and never grows', async () => {
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIASIMULATOR0000000';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'simulator-secret';
    const env = {
      ...sim.envFor(node.instance.id),
      VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
      AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
      DISABLE_INTROSPECTION: 'true',
      DISABLE_METRICS: 'true',
      ENABLE_IPv6: 'true',
      ENABLE_IPv4: 'false',
      ENABLE_PREFIX_DELEGATION: 'true',
    };
    const agent = await startAgent(env, silentLogger, { hostNetworking: false });
    const client = new RpcClient({ endpoint: `unix://${env.VPC_CNI_IPAMD_SOCKET}`, deadlineMs: 10_000 });
    try {
      const primary = sim.world.eni(node.instance.primaryEniId);
      expect(primary.ipv6Prefixes).toHaveLength(1);
      const prefix = primary.ipv6Prefixes[0]!;
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          client.call(CNIBackend.AddNetwork, {
            ContainerID: `v6-${i}`,
            IfName: 'eth0',
            NetworkName: 'aws-cni',
            K8S_POD_NAME: `p${i}`,
            K8S_POD_NAMESPACE: 'default',
            K8S_POD_INFRA_CONTAINER_ID: `v6-${i}`,
            Netns: '',
            ClientVersion: '',
            RequiresMultiNICAttachment: false,
          }),
        ),
      );
      const addrs = replies.map((r) => r.IPAllocationMetadata[0]?.IPv6Addr ?? '');
      expect(new Set(addrs).size).toBe(40);
      const base = prefix.replace(/::\/80$/, ':');
      expect(addrs.every((a) => a.startsWith(base))).toBe(true);
      expect(replies[0]?.IPAllocationMetadata[0]?.IPv4Addr).toBe('');
      expect(replies[0]?.VPCv6CIDRs).toEqual([sim.world.vpc.ipv6Cidr]);
      expect(replies[0]?.IPAllocationMetadata[0]?.RouteTableId).toBe(254);
      const counts = sim.faults.counts();
      expect(counts['AssignIpv6Addresses']).toBe(1);
      expect(counts['CreateNetworkInterface'] ?? 0).toBe(0);
      expect(counts['AssignPrivateIpAddresses'] ?? 0).toBe(0);
    } finally {
      client.close();
      await agent.stop();
    }
  });
});
