// The simulated AWS world: one VPC, subnets, security groups, instances and their ENIs. Addresses come from the
// subnet (first four and the last are reserved, as in AWS), never twice; /28 prefixes are aligned and do not
// overlap used addresses; per-instance-type ENI/IP limits are enforced.
import { randomBytes } from 'node:crypto';
import { instanceLimits } from '@vpc-cni/shared/limits';
import {
  type Cidr,
  bigintToIp,
  cidrContains,
  cidrSize,
  formatCidr,
  ipToBigint,
  parseCidr,
} from '@vpc-cni/shared/ipmath';
import { Ec2Error, notFound } from './errors.js';

export interface Subnet {
  id: string;
  cidr: Cidr;
  az: string;
  tags: Map<string, string>;
  /** Every address in use (ENI primaries, secondaries, and each address of a delegated prefix). */
  used: Set<bigint>;
}

export interface Attachment {
  id: string;
  instanceId: string;
  deviceIndex: number;
  networkCardIndex: number;
  deleteOnTermination: boolean;
  attachedAt: Date;
}

export interface Eni {
  id: string;
  subnetId: string;
  mac: string;
  description: string;
  groups: string[];
  tags: Map<string, string>;
  primaryIp: string;
  secondaryIps: string[];
  prefixes: string[];
  ipv6Prefixes: string[];
  interfaceType: 'interface' | 'trunk' | 'branch';
  attachment?: Attachment;
}

export interface Instance {
  id: string;
  type: string;
  az: string;
  subnetId: string;
  primaryEniId: string;
}

const hex = (n: number) => randomBytes(n).toString('hex');

export class World {
  readonly vpcId = `vpc-${hex(8)}`;
  readonly vpcCidrs: Cidr[] = [];
  readonly subnets = new Map<string, Subnet>();
  readonly groups = new Map<string, string>(); // id → name
  readonly instances = new Map<string, Instance>();
  readonly enis = new Map<string, Eni>();
  readonly ownerId = '123456789012';

  constructor(vpcCidrs: string[]) {
    if (vpcCidrs.length < 1 || vpcCidrs.length > 5)
      throw new Error('a VPC has 1 primary and up to 4 secondary CIDRs');
    this.vpcCidrs.push(...vpcCidrs.map(parseCidr));
  }

  addSubnet(cidr: string, az: string, tags: Record<string, string> = {}): Subnet {
    const c = parseCidr(cidr);
    if (!this.vpcCidrs.some((v) => cidrContains(v, bigintToIp(c.base, 4))))
      throw new Error(`subnet ${cidr} is outside the VPC CIDRs`);
    const s: Subnet = {
      id: `subnet-${hex(8)}`,
      cidr: c,
      az,
      tags: new Map(Object.entries(tags)),
      used: new Set(),
    };
    // AWS reserves the network address, the next three, and the broadcast address.
    for (const i of [0n, 1n, 2n, 3n, cidrSize(c) - 1n]) s.used.add(c.base + i);
    this.subnets.set(s.id, s);
    return s;
  }

  addSecurityGroup(name: string): string {
    const id = `sg-${hex(8)}`;
    this.groups.set(id, name);
    return id;
  }

  subnet(id: string): Subnet {
    const s = this.subnets.get(id);
    if (!s) throw notFound('SubnetID', id);
    return s;
  }

  eni(id: string): Eni {
    const e = this.enis.get(id);
    if (!e) throw notFound('NetworkInterfaceID', id);
    return e;
  }

  instance(id: string): Instance {
    const i = this.instances.get(id);
    if (!i) throw notFound('InstanceID', id);
    return i;
  }

  availableAddresses(s: Subnet): number {
    return Number(cidrSize(s.cidr)) - s.used.size;
  }

  private takeAddress(s: Subnet): string {
    const size = cidrSize(s.cidr);
    for (let i = 0n; i < size; i++) {
      if (!s.used.has(s.cidr.base + i)) {
        s.used.add(s.cidr.base + i);
        return bigintToIp(s.cidr.base + i, 4);
      }
    }
    throw new Ec2Error(
      'InsufficientFreeAddressesInSubnet',
      `The specified subnet ${s.id} does not have enough free addresses to satisfy the request.`,
    );
  }

  private takePrefix(s: Subnet): string {
    const size = cidrSize(s.cidr);
    for (let off = 0n; off + 16n <= size; off += 16n) {
      let free = true;
      for (let i = 0n; i < 16n && free; i++) if (s.used.has(s.cidr.base + off + i)) free = false;
      if (!free) continue;
      for (let i = 0n; i < 16n; i++) s.used.add(s.cidr.base + off + i);
      return formatCidr({ family: 4, base: s.cidr.base + off, bits: 28 });
    }
    throw new Ec2Error(
      'InsufficientCidrBlocks',
      `The specified subnet ${s.id} does not have enough contiguous free address space for the requested prefixes.`,
    );
  }

  private release(s: Subnet, ip: string): void {
    s.used.delete(ipToBigint(ip));
  }

  private releasePrefix(s: Subnet, prefix: string): void {
    const c = parseCidr(prefix);
    for (let i = 0n; i < 16n; i++) s.used.delete(c.base + i);
  }

  createEni(o: {
    subnetId: string;
    description?: string;
    groups?: string[];
    tags?: Record<string, string>;
    secondaryCount?: number;
    prefixCount?: number;
    interfaceType?: Eni['interfaceType'];
  }): Eni {
    const s = this.subnet(o.subnetId);
    const eni: Eni = {
      id: `eni-${hex(8)}`,
      subnetId: s.id,
      mac: `02:${hex(5).match(/../g)?.join(':')}`,
      description: o.description ?? '',
      groups: o.groups ?? [],
      tags: new Map(Object.entries(o.tags ?? {})),
      primaryIp: this.takeAddress(s),
      secondaryIps: [],
      prefixes: [],
      ipv6Prefixes: [],
      interfaceType: o.interfaceType ?? 'interface',
    };
    try {
      for (let i = 0; i < (o.secondaryCount ?? 0); i++) eni.secondaryIps.push(this.takeAddress(s));
      for (let i = 0; i < (o.prefixCount ?? 0); i++) eni.prefixes.push(this.takePrefix(s));
    } catch (e) {
      this.release(s, eni.primaryIp);
      eni.secondaryIps.forEach((ip) => this.release(s, ip));
      eni.prefixes.forEach((p) => this.releasePrefix(s, p));
      throw e;
    }
    this.enis.set(eni.id, eni);
    return eni;
  }

  addInstance(type: string, subnetId: string): Instance {
    if (!instanceLimits(type)) throw new Error(`unknown instance type ${type}`);
    const s = this.subnet(subnetId);
    const id = `i-${hex(8)}`;
    const primary = this.createEni({ subnetId, description: 'Primary network interface' });
    const inst: Instance = { id, type, az: s.az, subnetId, primaryEniId: primary.id };
    this.instances.set(id, inst);
    primary.attachment = {
      id: `eni-attach-${hex(8)}`,
      instanceId: id,
      deviceIndex: 0,
      networkCardIndex: 0,
      deleteOnTermination: true,
      attachedAt: new Date(),
    };
    return inst;
  }

  attachedEnis(instanceId: string): Eni[] {
    return [...this.enis.values()].filter((e) => e.attachment?.instanceId === instanceId);
  }

  attach(eniId: string, instanceId: string, deviceIndex: number, networkCardIndex = 0): Attachment {
    const eni = this.eni(eniId);
    const inst = this.instance(instanceId);
    const limits = instanceLimits(inst.type);
    if (eni.attachment)
      throw new Ec2Error(
        'InvalidParameterValue',
        `Interface: [${eniId}] is already attached to instance [${eni.attachment.instanceId}]`,
      );
    const attached = this.attachedEnis(instanceId);
    if (limits && attached.length >= limits.enis)
      throw new Ec2Error(
        'AttachmentLimitExceeded',
        `Interface count ${attached.length + 1} exceeds the limit for ${inst.type}`,
      );
    if (
      attached.some(
        (e) =>
          e.attachment?.deviceIndex === deviceIndex && e.attachment.networkCardIndex === networkCardIndex,
      )
    )
      throw new Ec2Error(
        'InvalidParameterValue',
        `Instance '${instanceId}' already has an interface attached at device index '${deviceIndex}'.`,
      );
    if (this.subnet(eni.subnetId).az !== inst.az)
      throw new Ec2Error(
        'InvalidParameterCombination',
        'The network interface and the instance must be in the same availability zone',
      );
    eni.attachment = {
      id: `eni-attach-${hex(8)}`,
      instanceId,
      deviceIndex,
      networkCardIndex,
      deleteOnTermination: false,
      attachedAt: new Date(),
    };
    return eni.attachment;
  }

  detach(attachmentId: string): Eni {
    const eni = [...this.enis.values()].find((e) => e.attachment?.id === attachmentId);
    if (!eni) throw notFound('AttachmentID', attachmentId);
    if (eni.attachment?.deviceIndex === 0)
      throw new Ec2Error(
        'OperationNotPermitted',
        'The network interface at device index 0 cannot be detached.',
      );
    delete eni.attachment;
    return eni;
  }

  deleteEni(eniId: string): void {
    const eni = this.eni(eniId);
    if (eni.attachment)
      throw new Ec2Error(
        'InvalidNetworkInterface.InUse',
        `Network interface '${eniId}' is currently in use.`,
      );
    const s = this.subnet(eni.subnetId);
    this.release(s, eni.primaryIp);
    eni.secondaryIps.forEach((ip) => this.release(s, ip));
    eni.prefixes.forEach((p) => this.releasePrefix(s, p));
    this.enis.delete(eniId);
  }

  private ipLimit(eni: Eni): number {
    const inst = eni.attachment ? this.instances.get(eni.attachment.instanceId) : undefined;
    return (inst && instanceLimits(inst.type)?.ipv4PerEni) || 50;
  }

  assignPrivateIps(
    eniId: string,
    o: { count?: number; addresses?: string[]; prefixCount?: number },
  ): { ips: string[]; prefixes: string[] } {
    const eni = this.eni(eniId);
    const s = this.subnet(eni.subnetId);
    const slots = 1 + eni.secondaryIps.length + eni.prefixes.length;
    const wanted = (o.count ?? 0) + (o.addresses?.length ?? 0) + (o.prefixCount ?? 0);
    if (slots + wanted > this.ipLimit(eni))
      throw new Ec2Error(
        'PrivateIpAddressLimitExceeded',
        `Number of private addresses will exceed limit of ${this.ipLimit(eni)} for ${eniId}`,
      );
    const ips: string[] = [];
    const prefixes: string[] = [];
    for (const ip of o.addresses ?? []) {
      const n = ipToBigint(ip);
      if (!cidrContains(s.cidr, ip))
        throw new Ec2Error('InvalidParameterValue', `Address ${ip} is not in subnet ${s.id}`);
      if (s.used.has(n)) throw new Ec2Error('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
      s.used.add(n);
      ips.push(ip);
    }
    for (let i = 0; i < (o.count ?? 0); i++) ips.push(this.takeAddress(s));
    for (let i = 0; i < (o.prefixCount ?? 0); i++) prefixes.push(this.takePrefix(s));
    eni.secondaryIps.push(...ips);
    eni.prefixes.push(...prefixes);
    return { ips, prefixes };
  }

  unassignPrivateIps(eniId: string, o: { addresses?: string[]; prefixes?: string[] }): void {
    const eni = this.eni(eniId);
    const s = this.subnet(eni.subnetId);
    for (const ip of o.addresses ?? []) {
      if (!eni.secondaryIps.includes(ip))
        throw new Ec2Error(
          'InvalidParameterValue',
          `Some of the specified addresses are not assigned to interface ${eniId}`,
        );
    }
    for (const p of o.prefixes ?? [])
      if (!eni.prefixes.includes(p))
        throw new Ec2Error('InvalidParameterValue', `Prefix ${p} is not assigned to interface ${eniId}`);
    for (const ip of o.addresses ?? []) {
      eni.secondaryIps = eni.secondaryIps.filter((x) => x !== ip);
      this.release(s, ip);
    }
    for (const p of o.prefixes ?? []) {
      eni.prefixes = eni.prefixes.filter((x) => x !== p);
      this.releasePrefix(s, p);
    }
  }
}
