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
  type EC2Client,
  EC2ServiceException,
  ModifyNetworkInterfaceAttributeCommand,
} from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';
import type { Datastore } from '../store/index.js';
import { type AddressSupply, CapacityError } from '../service/supply.js';
import { type EniView, type PoolLimits, type WarmConfig, planIncrease } from '../warm/index.js';

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
  onCall?: (action: string, outcome: string, ms: number) => void;
}

const INSUFFICIENT = new Set(['InsufficientFreeAddressesInSubnet', 'InsufficientCidrBlocks']);

export class Ec2Supply implements AddressSupply {
  private inFlight: Promise<void> | undefined;
  private queued: { need: number; promise: Promise<void> } | undefined;
  private readonly created = new Map<string, number>(); // eni id → creation time (ms)

  constructor(
    private readonly ec2: EC2Client,
    private readonly ds: Datastore,
    private readonly o: Ec2SupplyOptions,
  ) {}

  grow(need: number): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.growNow(need).finally(() => (this.inFlight = undefined));
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

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const r = await fn();
      this.o.onCall?.(action, 'ok', performance.now() - t0);
      return r;
    } catch (e) {
      const code = e instanceof EC2ServiceException ? e.name : 'error';
      this.o.onCall?.(action, code, performance.now() - t0);
      if (INSUFFICIENT.has(code))
        throw new CapacityError(
          'subnet-exhausted',
          `subnet ${this.o.subnetId} has no free addresses (${code})`,
        );
      if (code === 'RequestLimitExceeded')
        throw new CapacityError(
          'ec2-throttled',
          `EC2 throttled ${action} (RequestLimitExceeded) after retries`,
        );
      throw e;
    }
  }

  private views(): EniView[] {
    return this.ds.eniList().map((e) => {
      let assigned = 0;
      let size = 0;
      let unassignedCidrs = 0;
      for (const c of e.cidrs.values()) {
        let used = 0;
        for (const a of c.addresses.values()) if (a.key) used++;
        assigned += used;
        size += c.isPrefix ? 16 : 1;
        if (used === 0) unassignedCidrs++;
      }
      return {
        id: e.id,
        isPrimary: e.isPrimary,
        isTrunk: e.isTrunk,
        isEfa: e.isEfa,
        excluded: e.excludedForPods,
        ageMs: Date.now() - (this.created.get(e.id) ?? 0),
        cidrCount: e.cidrs.size,
        sizeIps: size,
        assignedIps: assigned,
        coolingIps: this.ds.coolingCount(e.id),
        unassignedCidrs,
      };
    });
  }

  private async growNow(need: number): Promise<void> {
    const s = this.ds.stats();
    const stats = {
      totalIps: s.totalIPs,
      assignedIps: s.assignedIPs,
      totalPrefixes: s.totalPrefixes,
      freePrefixes: s.freePrefixes,
    };
    // On-demand: at least what is asked for, and what the warm targets want.
    const warm = {
      ...this.o.warm,
      warmIpTarget: Math.max(this.o.warm.warmIpTarget, need + (s.totalIPs - s.assignedIPs)),
    };
    const plan = planIncrease(stats, warm, this.o.limits, this.views(), { maxPods: this.o.maxPods });
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
    this.ds.addEni({
      id,
      deviceNumber,
      routeTableId: deviceNumber + 1,
      subnetId: this.o.subnetId,
      subnetCidr: undefined,
    });
    this.created.set(id, Date.now());
    for (const a of eni.PrivateIpAddresses ?? [])
      if (!a.Primary && a.PrivateIpAddress) this.ds.addCidr(id, `${a.PrivateIpAddress}/32`, false);
    for (const p of eni.Ipv4Prefixes ?? []) if (p.Ipv4Prefix) this.ds.addCidr(id, p.Ipv4Prefix, true);
    this.o.logger.info({ eni: id, deviceNumber, resources, unit }, 'created and attached a new ENI');
  }
}
