// The EC2-backed AddressSupply (spec §4.4, §4.5): when the datastore runs dry, ask EC2 for more addresses on
// an ENI with room (one AssignPrivateIpAddresses with a count, or /28 prefixes), else create, attach and tag a new
// ENI. Shortfalls that arrive while a call is in flight are served by the next single call. An address enters
// the datastore only from EC2's own answer (truth over IMDS, upstream #1967/#3887). A failed attach deletes the
// ENI it just created, so nothing leaks.
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
} from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';
import type { Datastore } from '../store/index.js';
import { type AddressSupply, CapacityError } from '../service/supply.js';
import { type PoolLimits, type WarmConfig, planIncrease } from '../warm/index.js';
import { type CallObserver, ec2Call } from './ec2-call.js';
import { EniLedger } from './ledger.js';
import { Mutex } from './mutex.js';
import { type EniPlumbing, noPlumbing } from './plumbing.js';
import { eniViews, poolStats } from './pool-view.js';

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
  /** Per-ENI facts shared with the pool manager (ages, MACs). */
  ledger?: EniLedger;
  /** Host side of a new ENI; it joins the datastore only once this succeeded. */
  plumbing?: EniPlumbing;
}

export class Ec2Supply implements AddressSupply {
  private inFlight: Promise<void> | undefined;
  private queued: { need: number; promise: Promise<void> } | undefined;
  private subnetCidr: string | undefined;
  readonly ledger: EniLedger;
  /** Shared with the pool manager: growth never interleaves with shrink/free/reconcile. */
  readonly lock = new Mutex();
  private readonly plumbing: EniPlumbing;

  constructor(
    private readonly ec2: EC2Client,
    private readonly ds: Datastore,
    private readonly o: Ec2SupplyOptions,
  ) {
    this.ledger = o.ledger ?? new EniLedger();
    this.plumbing = o.plumbing ?? noPlumbing;
  }

  grow(need: number): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.lock.run(() => this.growNow(need)).finally(() => (this.inFlight = undefined));
      return this.inFlight;
    }
    // One more call after the current one, for everyone who arrives meanwhile.
    if (!this.queued) {
      const q = { need, promise: Promise.resolve() };
      q.promise = this.inFlight
        .catch(() => undefined)
        .then(() => {
          this.queued = undefined;
          return this.grow(q.need);
        });
      this.queued = q;
    } else this.queued.need += need;
    return this.queued.promise;
  }

  private call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    return ec2Call(action, fn, { onCall: this.o.onCall, subnetId: this.o.subnetId });
  }

  /** The node subnet's CIDR (one DescribeSubnets, then cached): the new ENI's route table needs it. */
  private async nodeSubnetCidr(): Promise<string> {
    if (this.subnetCidr) return this.subnetCidr;
    const r = await this.call('DescribeSubnets', () =>
      this.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [this.o.subnetId] })),
    );
    const cidr = r.Subnets?.[0]?.CidrBlock;
    if (!cidr) throw new Error(`DescribeSubnets: no CIDR for ${this.o.subnetId}`);
    this.subnetCidr = cidr;
    return cidr;
  }

  private async growNow(need: number): Promise<void> {
    const s = this.ds.stats();
    const stats = poolStats(this.ds);
    // On-demand: at least what is asked for, and what the warm targets want.
    const warm = {
      ...this.o.warm,
      // need 0 = "what the warm targets want" (pre-scaling, the pool manager's timer).
      warmIpTarget:
        need > 0
          ? Math.max(this.o.warm.warmIpTarget, need + (s.totalIPs - s.assignedIPs))
          : this.o.warm.warmIpTarget,
    };
    const plan = planIncrease(stats, warm, this.o.limits, eniViews(this.ds, this.ledger), {
      maxPods: this.o.maxPods,
    });
    if (plan.kind === 'none')
      throw new CapacityError(plan.reason.startsWith('max pods') ? 'max-pods' : 'no-eni-slots', plan.reason);
    const room = this.o.maxPods - s.totalIPs;
    if (plan.kind === 'assign') {
      const count = Math.max(1, Math.min(plan.count, plan.unit === 'ip' ? room : Math.ceil(room / 16)));
      const r = await this.call('AssignPrivateIpAddresses', () =>
        this.ec2.send(
          new AssignPrivateIpAddressesCommand(
            plan.unit === 'ip'
              ? { NetworkInterfaceId: plan.eniId, SecondaryPrivateIpAddressCount: count }
              : { NetworkInterfaceId: plan.eniId, Ipv4PrefixCount: count },
          ),
        ),
      );
      for (const a of r.AssignedPrivateIpAddresses ?? [])
        if (a.PrivateIpAddress) this.ds.addCidr(plan.eniId, `${a.PrivateIpAddress}/32`, false);
      for (const p of r.AssignedIpv4Prefixes ?? [])
        if (p.Ipv4Prefix) this.ds.addCidr(plan.eniId, p.Ipv4Prefix, true);
      this.o.logger.info({ eni: plan.eniId, count, unit: plan.unit }, 'assigned addresses from EC2');
      return;
    }
    await this.newEni(
      Math.max(1, Math.min(plan.resources, plan.unit === 'ip' ? room : plan.resources)),
      plan.unit,
    );
  }

  private async newEni(resources: number, unit: 'ip' | 'prefix'): Promise<void> {
    const tags: Record<string, string> = {
      'node.k8s.amazonaws.com/createdAt': new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      'node.k8s.amazonaws.com/instance_id': this.o.instanceId,
      ...(this.o.clusterName
        ? { 'cluster.k8s.amazonaws.com/name': this.o.clusterName, 'eks:eni:owner': 'amazon-vpc-cni' }
        : {}),
      ...Object.fromEntries(
        Object.entries(this.o.extraTags ?? {}).filter(([k]) => !k.includes('k8s.amazonaws.com')),
      ),
    };
    const created = await this.call('CreateNetworkInterface', () =>
      this.ec2.send(
        new CreateNetworkInterfaceCommand({
          SubnetId: this.o.subnetId,
          Description: `aws-K8S-${this.o.instanceId}`,
          Groups: [...this.o.securityGroups].sort(),
          TagSpecifications: [
            {
              ResourceType: 'network-interface',
              Tags: Object.entries(tags)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([Key, Value]) => ({ Key, Value })),
            },
          ],
          ...(unit === 'ip' ? { SecondaryPrivateIpAddressCount: resources } : { Ipv4PrefixCount: resources }),
        }),
      ),
    );
    const eni = created.NetworkInterface;
    const id = eni?.NetworkInterfaceId;
    if (!eni || !id) throw new Error('CreateNetworkInterface returned no interface');
    let deviceNumber: number;
    try {
      const d = await this.call('DescribeInstances', () =>
        this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [this.o.instanceId] })),
      );
      const used = new Set(
        (d.Reservations?.[0]?.Instances?.[0]?.NetworkInterfaces ?? [])
          .filter((n) => (n.Attachment?.NetworkCardIndex ?? 0) === 0)
          .map((n) => n.Attachment?.DeviceIndex),
      );
      deviceNumber = [...Array(100).keys()].find((i) => !used.has(i)) ?? 100;
      const att = await this.call('AttachNetworkInterface', () =>
        this.ec2.send(
          new AttachNetworkInterfaceCommand({
            NetworkInterfaceId: id,
            InstanceId: this.o.instanceId,
            DeviceIndex: deviceNumber,
            NetworkCardIndex: 0,
          }),
        ),
      );
      await this.call('ModifyNetworkInterfaceAttribute', () =>
        this.ec2.send(
          new ModifyNetworkInterfaceAttributeCommand({
            NetworkInterfaceId: id,
            Attachment: { AttachmentId: att.AttachmentId, DeleteOnTermination: true },
          }),
        ),
      );
    } catch (e) {
      // Never leave an unattached ENI behind (a leaked-ENI sweep would find it later, but we know it now).
      await this.call('DeleteNetworkInterface', () =>
        this.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })),
      ).catch((d: unknown) =>
        this.o.logger.error({ eni: id, err: String(d) }, 'could not delete the ENI whose attach failed'),
      );
      throw e;
    }
    const host = {
      id,
      mac: (eni.MacAddress ?? '').toLowerCase(),
      primaryIp: eni.PrivateIpAddress ?? '',
      subnetCidr: await this.nodeSubnetCidr(),
      deviceNumber,
      table: deviceNumber + 1,
    };
    // Attached but not plumbed: the ENI stays out of the pool; the reconcile loop retries it.
    await this.plumbing.up(host);
    this.ds.addEni({
      id,
      deviceNumber,
      routeTableId: deviceNumber + 1,
      subnetId: this.o.subnetId,
      subnetCidr: host.subnetCidr,
    });
    this.ledger.record(id, { mac: host.mac, primaryIp: host.primaryIp, subnetCidr: host.subnetCidr });
    for (const a of eni.PrivateIpAddresses ?? [])
      if (!a.Primary && a.PrivateIpAddress) this.ds.addCidr(id, `${a.PrivateIpAddress}/32`, false);
    for (const p of eni.Ipv4Prefixes ?? []) if (p.Ipv4Prefix) this.ds.addCidr(id, p.Ipv4Prefix, true);
    this.o.logger.info({ eni: id, deviceNumber, resources, unit }, 'created and attached a new ENI');
  }
}
