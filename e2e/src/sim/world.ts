// The simulated VPC: registries of subnets, security groups, instances and ENIs, id generation, attach/detach
// listeners (hot-plug hooks) and the history of IMDS-visible snapshots (for propagation lag).
import { instanceLimits, type InstanceLimits } from '@vpc-cni/shared/limits';
import { SubnetAllocator } from './alloc.js';
import * as err from './errors.js';
import { snapshotImds, type ImdsInstanceView } from './imds-view.js';
import type { Eni, Instance, SecurityGroup, SgRule, Subnet, Tags, Vpc } from './types.js';

export interface SubnetSpec {
  id?: string;
  cidr: string;
  az: string;
  ipv6Cidr?: string;
  tags?: Record<string, string>;
}

export interface WorldOptions {
  vpc: { id?: string; cidrs: string[]; ipv6Cidr?: string };
  subnets: SubnetSpec[];
  securityGroups?: {
    id?: string;
    name: string;
    description?: string;
    tags?: Record<string, string>;
    /** Inbound rules enforced by the fabric; omit to let everything in. */
    ingress?: SgRule[];
  }[];
  /** Milliseconds clock; tests may pass a manual one. */
  clock?: () => number;
  ownerId?: string;
}

/** Called when an attachment completes / a detach completes; the attach is only `attached` after it resolves. */
export type AttachListener = (eni: Eni, instance: Instance) => void | Promise<void>;

export const toTags = (o: Record<string, string> = {}): Tags => new Map(Object.entries(o));

export class World {
  readonly vpc: Vpc;
  readonly subnets = new Map<string, Subnet>();
  readonly allocators = new Map<string, SubnetAllocator>();
  readonly groups = new Map<string, SecurityGroup>();
  readonly instances = new Map<string, Instance>();
  readonly enis = new Map<string, Eni>();
  readonly ownerId: string;
  readonly now: () => number;
  readonly attachListeners: AttachListener[] = [];
  readonly detachListeners: AttachListener[] = [];
  /** Errors thrown by listeners (the attach still completes; tests can inspect these). */
  readonly hookErrors: unknown[] = [];
  private counter = 0;
  private history: { at: number; view: Map<string, ImdsInstanceView> }[] = [];

  constructor(opts: WorldOptions) {
    if (opts.vpc.cidrs.length < 1 || opts.vpc.cidrs.length > 5)
      throw new Error('a VPC has 1 primary and ≤4 secondary CIDRs');
    this.now = opts.clock ?? Date.now;
    this.ownerId = opts.ownerId ?? '123456789012';
    this.vpc = {
      id: opts.vpc.id ?? this.newId('vpc'),
      cidrs: [...opts.vpc.cidrs],
      ipv6Cidr: opts.vpc.ipv6Cidr,
    };
    for (const s of opts.subnets) this.addSubnet(s);
    for (const g of opts.securityGroups ?? [{ name: 'default', description: 'default VPC security group' }]) {
      const id = g.id ?? this.newId('sg');
      this.groups.set(id, {
        id,
        name: g.name,
        description: g.description ?? g.name,
        vpcId: this.vpc.id,
        tags: toTags(g.tags),
        // Stored one source per rule, as EC2 does (and as Authorize/Revoke match them).
        ...(g.ingress
          ? {
              ingress: g.ingress.flatMap((r) => [
                ...r.cidrs.map((c) => ({ ...r, cidrs: [c], groups: [] })),
                ...r.groups.map((x) => ({ ...r, cidrs: [], groups: [x] })),
              ]),
            }
          : {}),
      });
    }
    this.changed();
  }

  /** EC2-looking id: prefix + 17 hex digits, unique in this world. */
  newId(prefix: string): string {
    this.counter++;
    return `${prefix}-${(0x1000_0000_0000_0000n + BigInt(this.counter) * 0x9e37_79b9n).toString(16).slice(-17).padStart(17, '0')}`;
  }

  newMac(): string {
    this.counter++;
    const n = this.counter;
    const b = [0x02, 0x5a, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 0x01];
    return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
  }

  addSubnet(s: SubnetSpec): Subnet {
    const id = s.id ?? this.newId('subnet');
    const subnet: Subnet = {
      id,
      vpcId: this.vpc.id,
      cidr: s.cidr,
      az: s.az,
      azId: `usw2-az${(s.az.charCodeAt(s.az.length - 1) - 96).toString()}`,
      tags: toTags(s.tags),
      ipv6Cidr: s.ipv6Cidr,
    };
    this.subnets.set(id, subnet);
    this.allocators.set(id, new SubnetAllocator(s.cidr, s.ipv6Cidr));
    return subnet;
  }

  subnet(id: string): Subnet {
    const s = this.subnets.get(id);
    if (!s) throw err.notFoundSubnet(id);
    return s;
  }

  alloc(subnetId: string): SubnetAllocator {
    return this.allocators.get(subnetId)!;
  }

  eni(id: string): Eni {
    const e = this.enis.get(id);
    if (!e) throw err.notFoundEni(id);
    return e;
  }

  instance(id: string): Instance {
    const i = this.instances.get(id);
    if (!i) throw err.notFoundInstance(id);
    return i;
  }

  limits(instanceType: string): InstanceLimits {
    const l = instanceLimits(instanceType);
    if (!l) throw err.invalidParam(`The instance type '${instanceType}' is not supported by the simulator`);
    return l;
  }

  /** ENIs attached (in any attachment state) to an instance. */
  enisOf(instanceId: string): Eni[] {
    return [...this.enis.values()].filter((e) => e.attachment?.instanceId === instanceId);
  }

  onAttach(fn: AttachListener): void {
    this.attachListeners.push(fn);
  }

  onDetach(fn: AttachListener): void {
    this.detachListeners.push(fn);
  }

  async runListeners(list: AttachListener[], eni: Eni, inst: Instance): Promise<void> {
    for (const fn of list) {
      try {
        await fn(eni, inst);
      } catch (e) {
        this.hookErrors.push(e);
      }
    }
  }

  /** Record the IMDS-visible state after a mutation (IMDS serves snapshots `lag` ms old). */
  changed(): void {
    this.history.push({ at: this.now(), view: snapshotImds(this) });
    if (this.history.length > 2000) this.history.splice(0, this.history.length - 2000);
  }

  /**
   * IMDS view of an instance as it was `lagMs` ago: the newest snapshot that old which knows the instance, else the
   * first snapshot that knows it (an instance launched less than `lag` ago, or lag = Infinity → frozen at launch).
   */
  imdsView(instanceId: string, lagMs: number): ImdsInstanceView | undefined {
    const cutoff = this.now() - lagMs;
    let pick: ImdsInstanceView | undefined;
    for (const h of this.history) {
      const v = h.view.get(instanceId);
      if (!v) continue;
      if (h.at <= cutoff || pick === undefined) pick = v;
      if (h.at > cutoff) break;
    }
    return pick;
  }
}
