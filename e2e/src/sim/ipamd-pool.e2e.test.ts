// ipamd's pool manager against the simulated EC2 + IMDS, through the real AWS SDK: surplus ENIs and addresses go
// back to EC2 down to the warm targets (never an assigned one, never a young ENI), reconciliation follows EC2 and
// not a stale IMDS (and costs no EC2 call at rest), and leaked ENIs are found by their tags and deleted.
import {
  AssignPrivateIpAddressesCommand,
  CreateNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { Ec2Supply, EniLedger, LEAK_GRACE_MS, PoolManager, PoolState, noPlumbing } from '@vpc-cni/ipamd/eni';
import { ImdsClient, readAttachedEnis } from '@vpc-cni/ipamd/imds';
import { Datastore } from '@vpc-cni/ipamd/store';
import { type WarmConfig, poolLimits } from '@vpc-cni/ipamd/warm';
import type { Sim } from './sim.js';
import { SG_1, SUBNET_A, sdkClient, startSmall } from './testkit.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const WARM_ENI: WarmConfig = {
  warmEniTarget: 1,
  warmIpTarget: 0,
  minimumIpTarget: 0,
  warmPrefixTarget: 0,
  maxEni: 0,
  prefixDelegation: false,
};

async function node(warm: WarmConfig, imdsLagMs = 0) {
  const sim: Sim = await startSmall({
    subnets: [{ id: SUBNET_A, cidr: '10.0.16.0/20', az: 'us-west-2a' }],
    imdsLagMs,
  });
  const n = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
  const ec2 = sdkClient(sim, 3);
  cleanups.push(
    () => sim.stop(),
    () => ec2.destroy(),
  );
  let t = Date.now();
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  const ds = new Datastore({
    family: 4,
    prefixDelegation: warm.prefixDelegation,
    cooldownMs: 0,
    nowMs: clock.now,
  });
  const state = new PoolState(new EniLedger(clock.now));
  const ledger = state.ledger;
  ds.addEni({
    id: n.instance.primaryEniId,
    deviceNumber: 0,
    isPrimary: true,
    routeTableId: 254,
    subnetId: SUBNET_A,
  });
  ledger.record(n.instance.primaryEniId);
  const limits = poolLimits({ enis: 3, ipv4PerEni: 10 }, warm);
  const supply = new Ec2Supply(ec2, ds, {
    instanceId: n.instance.id,
    subnetId: SUBNET_A,
    securityGroups: [SG_1],
    limits,
    warm,
    maxPods: warm.prefixDelegation ? 110 : 29,
    logger: silentLogger,
    state,
  });
  const imds = new ImdsClient({ endpoint: n.imdsUrl });
  const manager = new PoolManager({
    ec2,
    ds,
    supply,
    state,
    warm,
    limits,
    maxPods: warm.prefixDelegation ? 110 : 29,
    instanceId: n.instance.id,
    vpcId: sim.world.vpc.id,
    plumbing: noPlumbing,
    readImds: () => readAttachedEnis(imds, sim.world.eni(n.instance.primaryEniId).mac),
    logger: silentLogger,
    now: clock.now,
    freeEni: { settleMs: 0, backoffScale: 0.01 },
  });
  let next = 0;
  const pods = {
    add: (count: number) =>
      Promise.all(
        Array.from({ length: count }, async () => {
          const key = { networkName: 'aws-cni', containerID: `c${next++}`, ifName: 'eth0' };
          const meta = { k8sPodNamespace: 'default', k8sPodName: key.containerID, interfacesCount: 1 };
          for (;;) {
            try {
              ds.assign(key, meta);
              return key;
            } catch {
              await supply.grow(1);
            }
          }
        }),
      ),
  };
  /** EC2's view of this instance: ENI id → its secondary /32s and prefixes, sorted. */
  const ec2View = () =>
    new Map(
      sim.world
        .enisOf(n.instance.id)
        .map((e) => [e.id, [...e.secondaryIps.map((ip) => `${ip}/32`), ...e.ipv4Prefixes].sort()]),
    );
  const dsView = () => new Map(ds.eniList().map((e) => [e.id, [...e.cidrs.keys()].sort()]));
  const settle = async (rounds = 12) => {
    for (let i = 0; i < rounds; i++) {
      const r = await manager.tick();
      if (!r.grew && r.gaveBack === 0 && !r.freedEni) return i;
    }
    return rounds;
  };
  return { sim, n, ec2, ds, supply, manager, clock, pods, ec2View, dsView, settle };
}

describe('shrinking to the warm targets', () => {
  it('WARM_ENI_TARGET=1: after 27 pods leave, surplus ENIs go back to EC2, but only once 60 s old', async () => {
    const x = await node(WARM_ENI);
    const keys = await x.pods.add(27);
    expect(x.sim.world.enisOf(x.n.instance.id)).toHaveLength(3);
    for (const k of keys) x.ds.unassign(k);
    await x.settle();
    expect(x.sim.world.enisOf(x.n.instance.id)).toHaveLength(3); // young ENIs are kept
    x.clock.advance(61_000);
    await x.settle();
    // Upstream arithmetic: free ENIs while available ≥ (WARM_ENI_TARGET + 1) × 9 → one ENI with 9 left.
    expect(x.ds.eniList().map((e) => e.id)).toEqual([x.n.instance.primaryEniId]);
    expect(x.dsView()).toEqual(x.ec2View());
    expect([...x.sim.world.enis.values()].filter((e) => e.status === 'available')).toEqual([]); // deleted, not left
    expect(x.sim.faults.counts()['DeleteNetworkInterface']).toBe(2);
  });

  it('an ENI with an assigned address is never freed', async () => {
    const x = await node(WARM_ENI);
    const keys = await x.pods.add(27);
    // Keep one pod on the third ENI.
    const third = x.ds.eniList().find((e) => e.deviceNumber === 2)!;
    const keep = keys.find((k) => x.ds.lookup(k)?.eniId === third.id)!;
    for (const k of keys) if (k !== keep) x.ds.unassign(k);
    x.clock.advance(61_000);
    await x.settle();
    expect(x.ds.eniList().map((e) => e.id)).toContain(third.id);
    expect(x.ds.lookup(keep)?.eniId).toBe(third.id);
    expect(x.dsView()).toEqual(x.ec2View());
  });

  it('WARM_IP_TARGET=5: free addresses are unassigned in EC2 down to 5, at most once per 30 s', async () => {
    const x = await node({ ...WARM_ENI, warmEniTarget: 0, warmIpTarget: 5 });
    const keys = await x.pods.add(12);
    await x.settle();
    for (const k of keys.slice(0, 8)) x.ds.unassign(k);
    const first = await x.manager.tick();
    expect(first.gaveBack).toBeGreaterThan(0);
    expect((await x.manager.tick()).gaveBack).toBe(0); // decrease cooldown
    x.clock.advance(31_000);
    await x.settle();
    const s = x.ds.stats();
    expect(s.totalIPs - s.assignedIPs).toBe(5);
    expect(s.assignedIPs).toBe(4);
    expect(x.dsView()).toEqual(x.ec2View());
  });

  it('prefix delegation, WARM_PREFIX_TARGET=1: free /28s go back, one stays', async () => {
    const x = await node({ ...WARM_ENI, warmEniTarget: 0, warmPrefixTarget: 1, prefixDelegation: true });
    const keys = await x.pods.add(40);
    await x.settle();
    for (const k of keys) x.ds.unassign(k);
    x.clock.advance(61_000);
    await x.settle();
    const s = x.ds.stats();
    expect(s.freePrefixes).toBe(1);
    expect(s.totalPrefixes).toBe(1);
    expect(x.dsView()).toEqual(x.ec2View());
  });
});

describe('reconciliation', () => {
  it('at rest it costs no EC2 call; it follows EC2 when addresses change behind its back', async () => {
    const x = await node(WARM_ENI);
    await x.pods.add(3);
    await x.settle();
    x.sim.faults.resetCalls();
    const quiet = await x.manager.reconcile();
    expect(quiet.askedEc2).toBe(false);
    expect(x.sim.faults.calls).toEqual([]);

    const primary = x.n.instance.primaryEniId;
    const free = [...x.ds.eniList()[0]!.cidrs.values()].find(
      (c) => ![...c.addresses.values()].some((a) => a.key),
    )!;
    await x.ec2.send(
      new UnassignPrivateIpAddressesCommand({
        NetworkInterfaceId: primary,
        PrivateIpAddresses: [free.text.replace('/32', '')],
      }),
    );
    const r = await x.manager.reconcile();
    expect(r.askedEc2).toBe(true);
    expect(r.cidrsRemoved).toEqual([free.text]);
    expect(x.dsView()).toEqual(x.ec2View());
  });

  it('an ENI detached behind its back leaves the pool; its pods are reported released', async () => {
    const x = await node(WARM_ENI);
    const keys = await x.pods.add(12); // 9 on the primary, 3 on a second ENI
    const second = x.ds.eniList().find((e) => !e.isPrimary)!;
    const onSecond = keys.filter((k) => x.ds.lookup(k)?.eniId === second.id);
    const d = await x.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [second.id] }));
    await x.ec2.send(
      new DetachNetworkInterfaceCommand({ AttachmentId: d.NetworkInterfaces![0]!.Attachment!.AttachmentId! }),
    );
    await x.sim.settle();
    const r = await x.manager.reconcile();
    expect(r.enisRemoved).toEqual([second.id]);
    expect(r.released.map((p) => p.key.containerID).sort()).toEqual(
      onSecond.map((k) => k.containerID).sort(),
    );
    expect(x.ds.eniList().map((e) => e.id)).not.toContain(second.id);
  });

  it('a stale IMDS never brings back an address that was given back, nor adds one EC2 does not confirm', async () => {
    const x = await node({ ...WARM_ENI, warmEniTarget: 0, warmIpTarget: 2 }, 60 * 60_000);
    const keys = await x.pods.add(6);
    await x.settle();
    for (const k of keys) x.ds.unassign(k);
    x.clock.advance(31_000);
    await x.settle();
    const before = x.dsView();
    expect(before).toEqual(x.ec2View());
    // IMDS still shows the launch-time view (no secondary IPs at all): the mismatch makes ipamd ask EC2.
    const r = await x.manager.reconcile();
    expect(r.askedEc2).toBe(true);
    expect(r.cidrsAdded).toEqual([]);
    expect(r.cidrsRemoved).toEqual([]);
    expect(x.dsView()).toEqual(before);
    // An address assigned in EC2 by someone else does enter once EC2 (not IMDS) confirms it. EC2 hands out the
    // lowest free address, i.e. one just given back: like upstream, a freed address is ignored for 60 s (EC2's own
    // Describe is eventually consistent too), so move past that.
    x.clock.advance(61_000);
    const extra = await x.ec2.send(
      new AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: x.n.instance.primaryEniId,
        SecondaryPrivateIpAddressCount: 1,
      }),
    );
    const ip = extra.AssignedPrivateIpAddresses![0]!.PrivateIpAddress!;
    expect((await x.manager.reconcile()).cidrsAdded).toEqual([`${ip}/32`]);
    expect(x.dsView()).toEqual(x.ec2View());
  });
});

describe('leaked ENIs', () => {
  const create = async (x: Awaited<ReturnType<typeof node>>, description: string, createdAt?: number) => {
    const tags = [
      { Key: 'node.k8s.amazonaws.com/instance_id', Value: 'i-0ffffffffffffffff' },
      ...(createdAt === undefined
        ? []
        : [{ Key: 'node.k8s.amazonaws.com/createdAt', Value: new Date(createdAt).toISOString() }]),
    ];
    const r = await x.ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: SUBNET_A,
        Description: description,
        TagSpecifications: [{ ResourceType: 'network-interface', Tags: tags }],
      }),
    );
    return r.NetworkInterface!.NetworkInterfaceId!;
  };

  it('deletes old detached CNI ENIs, tags untagged ones, leaves young and foreign ones', async () => {
    const x = await node(WARM_ENI);
    const now = x.clock.now();
    const old = await create(x, 'aws-K8S-i-0ffffffffffffffff', now - LEAK_GRACE_MS - 1_000);
    const young = await create(x, 'aws-K8S-i-0ffffffffffffffff', now - 60_000);
    const untagged = await create(x, 'aws-K8S-i-0ffffffffffffffff');
    const foreign = await create(x, 'someone else', now - 3_600_000);
    const r = await x.manager.sweepLeakedEnis();
    expect(r).toEqual({ deleted: [old], tagged: [untagged], young: [young] });
    expect(x.sim.world.enis.has(old)).toBe(false);
    expect([young, untagged, foreign].every((id) => x.sim.world.enis.has(id))).toBe(true);
    expect(x.sim.world.eni(untagged).tags.get('node.k8s.amazonaws.com/createdAt')).toBe(
      new Date(now).toISOString().replace(/\.\d+Z$/, 'Z'),
    );
  });

  it('an ENI created by a call whose reply was lost is found by its tags and deleted later', async () => {
    const x = await node(WARM_ENI);
    await x.pods.add(9);
    x.sim.faults.update({ dropReplyNext: { CreateNetworkInterface: 1 } });
    await x.pods.add(1); // the SDK retries the lost call: the first ENI is orphaned
    const orphans = () =>
      [...x.sim.world.enis.values()].filter((e) => e.status === 'available').map((e) => e.id);
    expect(orphans()).toHaveLength(1);
    expect((await x.manager.sweepLeakedEnis()).young).toEqual(orphans());
    x.clock.advance(LEAK_GRACE_MS + 1_000);
    const r = await x.manager.sweepLeakedEnis();
    expect(r.deleted).toHaveLength(1);
    expect(orphans()).toEqual([]);
    expect(x.dsView()).toEqual(x.ec2View());
  });
});
