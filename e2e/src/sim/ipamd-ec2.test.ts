// ipamd's EC2 supply (packages/ipamd/src/eni) growing a real datastore against the simulator until the instance
// is full: what the datastore holds must be exactly what the simulated EC2 says each ENI has.
import { Ec2Supply } from '@vpc-cni/ipamd/eni';
import { Datastore } from '@vpc-cni/ipamd/store';
import { poolLimits, type WarmConfig } from '@vpc-cni/ipamd/warm';
import { instanceLimits } from '@vpc-cni/shared/limits';
import { silentLogger } from '@vpc-cni/shared/logging';
import { afterEach, expect, it } from 'vitest';
import type { Sim } from './sim.js';
import { SG_1, SUBNET_A, sdkClient, startSmall } from './testkit.js';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
});

it.each([false, true])('grows to the instance limits (prefix delegation %s) and matches EC2', async (pd) => {
  // A /20: a /24 has only 14 free /28 blocks, fewer than 3 ENIs × 9 prefixes.
  sim = await startSmall({ subnets: [{ id: SUBNET_A, cidr: '10.0.16.0/20', az: 'us-west-2a' }] });
  const node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
  const lim = instanceLimits('m5.large')!;
  const ec2 = sdkClient(sim);
  const ds = new Datastore({ family: 4, prefixDelegation: pd, cooldownMs: 0 });
  const primary = sim.world.eni(node.instance.primaryEniId);
  ds.addEni({ id: primary.id, deviceNumber: 0, isPrimary: true, routeTableId: 254, subnetId: SUBNET_A });
  const warm: WarmConfig = {
    warmEniTarget: 1,
    warmIpTarget: 0,
    minimumIpTarget: 0,
    warmPrefixTarget: 1,
    maxEni: 0,
    prefixDelegation: pd,
  };
  const supply = new Ec2Supply(ec2, ds, {
    instanceId: node.instance.id,
    subnetId: SUBNET_A,
    securityGroups: [SG_1],
    limits: poolLimits(lim, warm),
    warm,
    maxPods: 10_000,
    logger: silentLogger,
  });
  let stop: unknown;
  for (let i = 0; i < 40 && stop === undefined; i++) await supply.grow(1).catch((e: unknown) => (stop = e));
  ec2.destroy();
  expect((stop as { reason?: string }).reason).toBe('no-eni-slots');
  const enis = sim.world.enisOf(node.instance.id);
  expect(enis).toHaveLength(lim.enis);
  const inDs = new Map(ds.eniList().map((e) => [e.id, [...e.cidrs.keys()].sort()]));
  for (const e of enis) {
    const want = pd ? e.ipv4Prefixes : e.secondaryIps.map((ip) => `${ip}/32`);
    expect(inDs.get(e.id)).toEqual([...want].sort());
    expect(1 + e.secondaryIps.length + e.ipv4Prefixes.length).toBe(lim.ipv4PerEni);
  }
  const counts = sim.faults.counts();
  expect(counts.CreateNetworkInterface).toBe(lim.enis - 1);
  expect(counts.AttachNetworkInterface).toBe(lim.enis - 1);
  expect(counts.ModifyNetworkInterfaceAttribute).toBe(lim.enis - 1);
});
