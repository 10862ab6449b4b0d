// ipamd's on-demand growth through the real AWS SDK against the EC2 simulator: a fresh m5.large fills its three
// ENIs as pods arrive, the next pod gets the reason, EC2 calls are batched, throttling is ridden out, and a failed
// attach leaves no ENI behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { AddNetworkRequest, GrpcStatus } from '@vpc-cni/shared/rpc';
import { Ec2Supply } from '@vpc-cni/ipamd/eni';
import { Checkpoint } from '@vpc-cni/ipamd/persistence';
import { IpamService } from '@vpc-cni/ipamd/service';
import { Datastore } from '@vpc-cni/ipamd/store';
import { poolLimits } from '@vpc-cni/ipamd/warm';
import type { FaultConfig } from './faults.js';
import { SG_1, SUBNET_A, sdkClient, startSmall } from './testkit.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function node(faults: Partial<FaultConfig> = {}) {
  const sim = await startSmall({ faults });
  const { instance: inst } = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
  const ec2 = sdkClient(sim, 10);
  const dir = mkdtempSync(join(tmpdir(), 'vct-ec2sup-'));
  cleanups.push(
    () => ec2.destroy(),
    () => sim.stop(),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  const ds = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 30_000 });
  ds.addEni({ id: inst.primaryEniId, deviceNumber: 0, isPrimary: true, routeTableId: 254 });
  const warm = {
    warmEniTarget: 1,
    warmIpTarget: 0,
    minimumIpTarget: 0,
    warmPrefixTarget: 0,
    maxEni: 0,
    prefixDelegation: false,
  };
  const supply = new Ec2Supply(ec2, ds, {
    instanceId: inst.id,
    subnetId: SUBNET_A,
    securityGroups: [SG_1],
    limits: poolLimits({ enis: 3, ipv4PerEni: 10 }, warm),
    warm,
    maxPods: 29,
    clusterName: 'demo',
    logger: silentLogger,
  });
  const svc = new IpamService(
    ds,
    new Checkpoint(join(dir, 'ipam.json'), () => ds.allocations(), silentLogger),
    supply,
    {
      version: 'v',
      addWaitMs: 20_000,
      networkPolicyMode: '',
      vpcCidrs: () => ({ v4: ['10.0.0.0/16'], v6: [] }),
      externalSnat: false,
      logger: silentLogger,
    },
  );
  const ok = (action: string) =>
    sim.faults.calls.filter((c) => c.action === action && c.outcome === 'OK').length;
  return { world: sim.world, sim, ds, svc, inst, ok };
}

const add = (i: number) =>
  AddNetworkRequest.fromPartial({
    ContainerID: `c${i}`,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    K8S_POD_NAME: `p${i}`,
    K8S_POD_NAMESPACE: 'default',
  });

describe('on-demand growth through EC2', () => {
  it('27 concurrent pods fill 3 ENIs x 9 addresses; the 28th gets the reason; EC2 calls are batched', async () => {
    const n = await node();
    const replies = await Promise.all(Array.from({ length: 27 }, (_, i) => n.svc.addNetwork(add(i))));
    const addrs = replies.map((r) => r.IPAllocationMetadata[0]?.IPv4Addr);
    expect(new Set(addrs).size).toBe(27);
    expect(n.world.enisOf(n.inst.id)).toHaveLength(3);
    // Every pod address is one EC2 says is assigned to one of this instance's ENIs.
    const onEnis = new Set(n.world.enisOf(n.inst.id).flatMap((e) => e.secondaryIps));
    expect(addrs.every((a) => onEnis.has(a as string))).toBe(true);
    await expect(n.svc.addNetwork(add(99))).rejects.toMatchObject({
      code: GrpcStatus.RESOURCE_EXHAUSTED,
      details: 'no free address: no ENI slots left (3/3 ENIs, all full)',
    });
    const mutations = n.ok('AssignPrivateIpAddresses') + n.ok('CreateNetworkInterface');
    expect(mutations).toBeLessThanOrEqual(6); // batched, not one call per pod
    const created = [...n.world.enis.values()].filter((e) => e.description === `aws-K8S-${n.inst.id}`);
    expect(created.every((e) => e.tags.get('cluster.k8s.amazonaws.com/name') === 'demo')).toBe(true);
    expect(created.every((e) => e.attachment?.deleteOnTermination === true)).toBe(true);
  });

  it('rides out RequestLimitExceeded on 30% of calls', async () => {
    const errorRate = Object.fromEntries(
      [
        'AssignPrivateIpAddresses',
        'CreateNetworkInterface',
        'AttachNetworkInterface',
        'DescribeInstances',
        'ModifyNetworkInterfaceAttribute',
      ].map((a) => [a, { rate: 0.3, code: 'RequestLimitExceeded', status: 503 }]),
    );
    const n = await node({ errorRate });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => n.svc.addNetwork(add(i))));
    expect(new Set(replies.map((r) => r.IPAllocationMetadata[0]?.IPv4Addr)).size).toBe(20);
  });

  it('a failed attach deletes the new ENI: nothing leaks', async () => {
    const n = await node({
      errorRate: { AttachNetworkInterface: { rate: 1, code: 'InvalidParameterValue', status: 400 } },
    });
    await Promise.all(Array.from({ length: 9 }, (_, i) => n.svc.addNetwork(add(i)))); // the primary ENI's 9
    await expect(n.svc.addNetwork(add(9))).rejects.toBeDefined();
    expect([...n.world.enis.values()].filter((e) => !e.attachment)).toEqual([]);
    expect(n.ok('DeleteNetworkInterface')).toBeGreaterThan(0);
  });
});
