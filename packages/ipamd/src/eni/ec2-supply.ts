// The EC2-backed AddressSupply (docs/architecture.md#warm-pool, "Growing", "Creating an ENI"): when the
// datastore runs dry, ask EC2 for more addresses on an ENI with room (one AssignPrivateIpAddresses with a
// count, or /28 prefixes), else create, attach and tag a new ENI. Shortfalls that arrive while a call is in
// flight are served by the next single call. An address enters the datastore only from EC2's own answer
// (truth over IMDS, upstream #1967/#3887). A failed attach deletes the ENI it just created, so nothing leaks.
import {
  AssignPrivateIpAddressesCommand,
  DescribeInstancesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';
import type { Datastore } from '../store/index.js';
import { type AddressSupply, CapacityError } from '../service/supply.js';
import { PREFIX_SIZE, type PoolLimits, type WarmConfig, planIncrease } from '../warm/index.js';
import { type CallObserver, ec2Call } from './ec2-call.js';
import { PoolState } from './pool-state.js';
import { type EniPlumbing, noPlumbing } from './plumbing.js';
import { eniViews } from './pool-view.js';
import { createAndAttachEni } from './create-eni.js';
import { cardTable } from '../cards/index.js';
import { SubnetCatalog } from './subnets.js';
import { type PoolObserver, quietObserver, tracked } from './observer.js';
import { type EniTargetResolver, catalogTarget } from './eni-target.js';

export interface Ec2SupplyOptions {
  instanceId: string;
  subnetId: string;
  securityGroups: string[];
  limits: PoolLimits;
  warm: WarmConfig;
  maxPods: number;
  clusterName?: string;
  extraTags?: Record<string, string>;
  logger: Logger;
  /** Observer for metrics: every EC2 call with its outcome ('ok' or the error code). */
  onCall?: CallObserver;
  /** Errors and actions in progress (metrics). */
  observer?: PoolObserver;
  /** The pool's lock and per-ENI facts, shared with the pool manager (default: a state of its own). */
  state?: PoolState;
  /** Host side of a new ENI; it joins the datastore only once this succeeded. */
  plumbing?: EniPlumbing;
  /** Where new ENIs go (enhanced subnet discovery); default: the node's own subnet only. */
  catalog?: SubnetCatalog;
  /** Custom networking: new ENIs in the ENIConfig's subnet; the primary ENI gets no new addresses. */
  target?: EniTargetResolver;
  customNetworking?: boolean;
  /**
   * Security groups for pods: true while one ENI slot must stay free for the trunk ENI
   * (docs/architecture.md#warm-pool, "Growing").
   */
  reserveTrunkSlot?: () => boolean;
  /** How long a growth round waits for more shortfalls to join it (default 5 ms). */
  gatherMs?: number;
  /** The network card this pool grows on (default 0; docs/architecture.md#network-cards). */
  networkCard?: number;
}

/** An ENI's subnet ran out of addresses during AssignPrivateIpAddresses. */
class SubnetDry extends CapacityError {
  constructor(message: string) {
    super('subnet-exhausted', message);
  }
}

export class Ec2Supply implements AddressSupply {
  private batch: { need: number; promise: Promise<void> } | undefined;
  private round: Promise<void> = Promise.resolve();
  readonly catalog: SubnetCatalog;
  private readonly target: EniTargetResolver;
  /** ENIs whose subnet said it is out of addresses: not asked again until the subnet listing refreshes. */
  private readonly exhausted = new Set<string>();
  private exhaustedSince = 0;
  /** Shared with the pool manager: growth never interleaves with shrink/free/reconcile. */
  private readonly state: PoolState;
  private readonly plumbing: EniPlumbing;
  private readonly observer: PoolObserver;

  constructor(
    private readonly ec2: EC2Client,
    private readonly ds: Datastore,
    private readonly o: Ec2SupplyOptions,
  ) {
    this.state = o.state ?? new PoolState();
    this.plumbing = o.plumbing ?? noPlumbing;
    this.observer = o.observer ?? quietObserver;
    this.catalog = o.catalog ?? new SubnetCatalog(ec2, { primarySubnetId: o.subnetId, discovery: false });
    this.target = o.target ?? catalogTarget(this.catalog, o.securityGroups);
  }

  /**
   * Shortfalls are gathered: a round starts `gatherMs` after the first one (and never while another round runs),
   * and serves everything asked for until then. A burst of pods thus costs one round, not one per pod.
   */
  grow(need: number): Promise<void> {
    if (this.batch) {
      this.batch.need += need;
      return this.batch.promise;
    }
    const b = { need, promise: Promise.resolve() };
    this.batch = b;
    b.promise = this.round
      .catch(() => undefined)
      .then(() => new Promise((r) => setTimeout(r, this.o.gatherMs ?? 5)))
      .then(() => {
        this.batch = undefined;
        this.round = this.state.lock.run(() =>
          tracked(this.observer, 'increaseDatastorePool', () => this.growNow(b.need)),
        );
        return this.round;
      });
    return b.promise;
  }

  private call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    return ec2Call(action, fn, { onCall: this.o.onCall, subnetId: this.o.subnetId });
  }

  private async growNow(need: number): Promise<void> {
    try {
      await this.growOnce(need);
    } catch (e) {
      // The ENI with room sits in a subnet that just ran out: plan again, now on new ENIs in other subnets.
      if (!(e instanceof SubnetDry)) throw e;
      await this.growOnce(need);
    }
  }

  private async growOnce(need: number): Promise<void> {
    // Addresses come back to subnets; after 5 minutes an ENI marked dry may be asked again.
    if (this.exhausted.size > 0 && Date.now() - this.exhaustedSince > 5 * 60_000) this.exhausted.clear();
    const s = this.ds.stats();
    const stats = this.ds.stats();
    // On-demand: at least what is asked for, and what the warm targets want.
    const warm = {
      ...this.o.warm,
      // need 0 = "what the warm targets want" (pre-scaling, the pool manager's timer).
      warmIpTarget:
        need > 0
          ? Math.max(this.o.warm.warmIpTarget, need + (s.totalIPs - s.assignedIPs))
          : this.o.warm.warmIpTarget,
    };
    const perEniCidrs = this.o.limits.maxPrefixesPerEni || this.o.limits.maxIpsPerEni;
    const views = eniViews(this.ds, this.state.ledger).map((v) =>
      this.exhausted.has(v.id) ? { ...v, cidrCount: perEniCidrs } : v,
    );
    const reserve = this.o.reserveTrunkSlot?.() ?? false;
    const plan = planIncrease(stats, warm, this.o.limits, views, {
      maxPods: this.o.maxPods,
      customNetworking: this.o.customNetworking ?? false,
      reserveForTrunk: reserve,
    });
    if (plan.kind === 'none')
      throw new CapacityError(plan.reason.startsWith('max pods') ? 'max-pods' : 'no-eni-slots', plan.reason);
    const room = this.o.maxPods - s.totalIPs;
    const unit = plan.unit;
    const perEni = unit === 'ip' ? this.o.limits.maxIpsPerEni : this.o.limits.maxPrefixesPerEni;
    const cap = (n: number) => Math.max(1, Math.min(n, unit === 'ip' ? room : Math.ceil(room / PREFIX_SIZE)));
    // What this round must bring, in the plan's unit: the shortfall, and at least what the plan wants.
    let left = cap(
      Math.max(
        plan.kind === 'assign' ? plan.count : plan.resources,
        unit === 'ip' ? need : Math.ceil(need / PREFIX_SIZE),
      ),
    );
    const work: Promise<void>[] = [];
    if (plan.kind === 'assign') {
      const count = Math.min(cap(plan.count), left);
      left -= count;
      work.push(this.assign(plan.eniId, count, unit));
    }
    // The rest on new ENIs, created and attached in parallel (EC2 allows it; the burst then waits for one ENI's
    // latency, not one per ENI).
    const slots = this.o.limits.maxEni - this.ds.eniList().length - (reserve ? 1 : 0);
    const k = Math.min(slots, Math.ceil(left / perEni));
    if (k > 0) {
      const devices = await this.freeDeviceIndexes(k);
      for (const d of devices) {
        const n = Math.max(1, Math.min(perEni, left));
        left -= n;
        work.push(this.newEni(n, unit, d));
      }
    }
    const results = await Promise.allSettled(work);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length === results.length) throw failures[0]!.reason;
    for (const f of failures)
      this.o.logger.warn({ err: f.reason as unknown }, 'part of a growth round failed');
  }

  private async assign(eniId: string, count: number, unit: 'ip' | 'prefix'): Promise<void> {
    const r = await this.call('AssignPrivateIpAddresses', () =>
      this.ec2.send(
        new AssignPrivateIpAddressesCommand(
          unit === 'ip'
            ? { NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: count }
            : { NetworkInterfaceId: eniId, Ipv4PrefixCount: count },
        ),
      ),
    ).catch((e: unknown) => {
      this.observer.error('increaseIPPoolAllocIPAddressesFailed');
      if (e instanceof CapacityError && e.reason === 'subnet-exhausted') {
        if (this.exhausted.size === 0) this.exhaustedSince = Date.now();
        this.exhausted.add(eniId);
        this.catalog.invalidate();
        throw new SubnetDry(e.message);
      }
      throw e;
    });
    for (const a of r.AssignedPrivateIpAddresses ?? [])
      if (a.PrivateIpAddress) this.ds.addCidr(eniId, `${a.PrivateIpAddress}/32`, false);
    for (const p of r.AssignedIpv4Prefixes ?? [])
      if (p.Ipv4Prefix) this.ds.addCidr(eniId, p.Ipv4Prefix, true);
    this.o.logger.info({ eni: eniId, count, unit }, 'assigned addresses from EC2');
  }

  /** The `k` lowest device indexes free on this pool's network card (one DescribeInstances). */
  private async freeDeviceIndexes(k: number): Promise<number[]> {
    const d = await this.call('DescribeInstances', () =>
      this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [this.o.instanceId] })),
    );
    const used = new Set(
      (d.Reservations?.[0]?.Instances?.[0]?.NetworkInterfaces ?? [])
        .filter((n) => (n.Attachment?.NetworkCardIndex ?? 0) === (this.o.networkCard ?? 0))
        .map((n) => n.Attachment?.DeviceIndex),
    );
    return [...Array(128).keys()].filter((i) => !used.has(i)).slice(0, k);
  }

  private async newEni(resources: number, unit: 'ip' | 'prefix', deviceNumber: number): Promise<void> {
    const target = await this.target();
    const { eni, subnet } = await createAndAttachEni(
      {
        ec2: this.ec2,
        instanceId: this.o.instanceId,
        securityGroups: target.securityGroups,
        clusterName: this.o.clusterName,
        extraTags: this.o.extraTags,
        logger: this.o.logger,
        onCall: this.o.onCall,
        observer: this.observer,
      },
      { resources, unit, deviceNumber, subnets: target.subnets, networkCard: this.o.networkCard ?? 0 },
    ).catch((e: unknown) => {
      this.observer.error('increaseIPPoolAllocENI');
      if (e instanceof CapacityError && e.reason === 'subnet-exhausted') this.catalog.invalidate();
      throw e;
    });
    const id = eni.NetworkInterfaceId!;
    const host = {
      id,
      mac: (eni.MacAddress ?? '').toLowerCase(),
      primaryIp: eni.PrivateIpAddress ?? '',
      subnetCidr: subnet.cidr,
      deviceNumber,
      table: cardTable(this.o.networkCard ?? 0, deviceNumber),
      card: this.o.networkCard ?? 0,
      maxEni: this.o.limits.maxEni,
    };
    // Attached but not plumbed: the ENI stays out of the pool; the reconcile loop retries it.
    const table = await this.plumbing.up(host).catch((e: unknown) => {
      this.observer.error('increaseIPPoolsetupENIFailed');
      throw e;
    });
    this.ds.addEni({
      id,
      deviceNumber,
      routeTableId: table ?? host.table,
      subnetId: subnet.id,
      subnetCidr: subnet.cidr,
    });
    this.state.ledger.record(id, { mac: host.mac, primaryIp: host.primaryIp });
    for (const a of eni.PrivateIpAddresses ?? [])
      if (!a.Primary && a.PrivateIpAddress) this.ds.addCidr(id, `${a.PrivateIpAddress}/32`, false);
    for (const p of eni.Ipv4Prefixes ?? []) if (p.Ipv4Prefix) this.ds.addCidr(id, p.Ipv4Prefix, true);
    this.o.logger.info(
      { eni: id, deviceNumber, subnet: subnet.id, resources, unit },
      'created and attached a new ENI',
    );
  }
}
