// ENI creation and address operations. Every operation checks limits before taking any address, and rolls back
// what it took when a later step fails, so a failed call never leaks or double-assigns an address.
import { canonicalIp } from '@vpc-cni/shared/ipmath';
import * as err from './errors.js';
import type { Eni, InterfaceType } from './types.js';
import { toTags, type World } from './world.js';

/** EC2 lets an unattached ENI hold more addresses than most types allow; this bounds it like the largest type. */
export const UNATTACHED_IPV4_MAX = 50;

export interface CreateEniSpec {
  subnetId: string;
  groups?: string[];
  description?: string;
  privateIp?: string;
  secondaryCount?: number;
  secondaryIps?: string[];
  ipv4PrefixCount?: number;
  ipv4Prefixes?: string[];
  ipv6Count?: number;
  ipv6PrefixCount?: number;
  interfaceType?: InterfaceType;
  tags?: Record<string, string>;
}

const efaOnlyNoIps = (): err.Ec2Error =>
  new err.Ec2Error(
    'InvalidParameterCombination',
    'IP addresses cannot be specified for a network interface of type efa-only.',
  );

/** Undo list: each step that takes an address pushes its release. */
class Txn {
  private undo: (() => void)[] = [];
  push(fn: () => void): void {
    this.undo.push(fn);
  }
  rollback(): void {
    for (const fn of this.undo.reverse()) fn();
  }
}

export function maxIpv4(w: World, e: Eni): number {
  return e.attachment ? w.limits(w.instance(e.attachment.instanceId).type).ipv4PerEni : UNATTACHED_IPV4_MAX;
}

function checkGroups(w: World, groups: string[]): void {
  for (const g of groups) if (!w.groups.has(g)) throw err.notFoundGroup(g);
}

export interface Ipv4Request {
  count?: number;
  ips?: string[];
  prefixCount?: number;
  prefixes?: string[];
}

/** Adds IPv4 addresses/prefixes to `e` (checks the per-ENI limit first); returns what was added. */
function addIpv4(w: World, e: Eni, r: Ipv4Request, txn: Txn): { ips: string[]; prefixes: string[] } {
  const count = r.count ?? 0;
  const ipsReq = (r.ips ?? []).map(canonicalIp);
  const pCount = r.prefixCount ?? 0;
  const pReq = r.prefixes ?? [];
  if (e.interfaceType === 'efa-only' && count + ipsReq.length + pCount + pReq.length > 0)
    throw efaOnlyNoIps();
  if ((count > 0 || ipsReq.length > 0) && (pCount > 0 || pReq.length > 0))
    throw new err.Ec2Error('InvalidParameterCombination', 'Cannot specify both IP addresses and prefixes.');
  if (count < 0 || pCount < 0) throw err.invalidParam('Count must be non-negative');
  const adding = count + ipsReq.length + pCount + pReq.length;
  if (1 + e.secondaryIps.length + e.ipv4Prefixes.length + adding > maxIpv4(w, e)) throw err.ipLimit();
  const a = w.alloc(e.subnetId);
  const ips: string[] = [];
  for (const ip of ipsReq) {
    if (!a.take(ip))
      throw new err.Ec2Error(
        'InvalidIPAddress.InUse',
        `Address ${ip} is in use or not in subnet ${e.subnetId}.`,
      );
    txn.push(() => a.release(ip));
    ips.push(ip);
  }
  if (count > 0) {
    const got = a.allocate(count);
    if (!got) throw err.noFreeAddresses(e.subnetId);
    txn.push(() => got.forEach((ip) => a.release(ip)));
    ips.push(...got);
  }
  const prefixes: string[] = [];
  for (const p of pReq) {
    if (!a.takePrefix(p))
      throw err.invalidParam(`Prefix ${p} is in use, not aligned or not in subnet ${e.subnetId}.`);
    txn.push(() => a.releasePrefix(p));
    prefixes.push(p);
  }
  if (pCount > 0) {
    const got = a.allocatePrefixes(pCount);
    if (!got)
      throw new err.Ec2Error(
        'InsufficientCidrBlocks',
        `There are not enough free cidr blocks in subnet ${e.subnetId}.`,
      );
    txn.push(() => got.forEach((p) => a.releasePrefix(p)));
    prefixes.push(...got);
  }
  return { ips, prefixes };
}

export interface Ipv6Request {
  count?: number;
  addresses?: string[];
  prefixCount?: number;
  prefixes?: string[];
}

function addIpv6(w: World, e: Eni, r: Ipv6Request, txn: Txn): { addresses: string[]; prefixes: string[] } {
  const a = w.alloc(e.subnetId);
  const adding =
    (r.count ?? 0) + (r.addresses?.length ?? 0) + (r.prefixCount ?? 0) + (r.prefixes?.length ?? 0);
  if (adding === 0) return { addresses: [], prefixes: [] };
  if (e.interfaceType === 'efa-only') throw efaOnlyNoIps();
  if (!a.hasIpv6()) throw err.invalidParam(`Subnet ${e.subnetId} has no IPv6 CIDR block`);
  if (e.ipv6Addresses.length + e.ipv6Prefixes.length + adding > maxIpv4(w, e))
    throw new err.Ec2Error('Ipv6AddressLimitExceeded', 'Number of IPv6 addresses will exceed limit.');
  const addresses: string[] = [];
  for (const ip of (r.addresses ?? []).map(canonicalIp)) {
    if (!a.take6(ip)) throw err.invalidParam(`Address ${ip} is in use or not in subnet ${e.subnetId}.`);
    txn.push(() => a.release6(ip));
    addresses.push(ip);
  }
  const got = a.allocate6(r.count ?? 0);
  txn.push(() => got.forEach((ip) => a.release6(ip)));
  addresses.push(...got);
  const prefixes: string[] = [];
  for (const p of r.prefixes ?? []) {
    if (!a.takePrefix6(p)) throw err.invalidParam(`Prefix ${p} is in use or not in subnet ${e.subnetId}.`);
    txn.push(() => a.releasePrefix6(p));
    prefixes.push(p);
  }
  const gotP = a.allocatePrefix6(r.prefixCount ?? 0);
  txn.push(() => gotP.forEach((p) => a.releasePrefix6(p)));
  prefixes.push(...gotP);
  return { addresses, prefixes };
}

export function createEni(w: World, s: CreateEniSpec): Eni {
  const subnet = w.subnet(s.subnetId);
  const groups = s.groups && s.groups.length > 0 ? s.groups : [[...w.groups.keys()][0]!];
  checkGroups(w, groups);
  const a = w.alloc(subnet.id);
  const txn = new Txn();
  try {
    let primary: string;
    if (s.interfaceType === 'efa-only') {
      // An EFA-only interface is an RDMA device with no IP address at all (no primary, secondary or prefix).
      const asked =
        s.privateIp ??
        ((s.secondaryIps?.length ?? 0) ||
          s.secondaryCount ||
          s.ipv4PrefixCount ||
          (s.ipv4Prefixes?.length ?? 0) ||
          s.ipv6Count ||
          s.ipv6PrefixCount);
      if (asked) throw efaOnlyNoIps();
      primary = '';
    } else if (s.privateIp) {
      primary = canonicalIp(s.privateIp);
      if (!a.take(primary)) throw new err.Ec2Error('InvalidIPAddress.InUse', `Address ${primary} is in use.`);
    } else {
      const got = a.allocate(1);
      if (!got) throw err.noFreeAddresses(subnet.id);
      primary = got[0]!;
    }
    txn.push(() => a.release(primary));
    const e: Eni = {
      id: w.newId('eni'),
      mac: w.newMac(),
      subnetId: subnet.id,
      vpcId: subnet.vpcId,
      az: subnet.az,
      description: s.description ?? '',
      groups: [...groups],
      tags: toTags(s.tags),
      status: 'available',
      interfaceType: s.interfaceType ?? 'interface',
      requesterManaged: false,
      sourceDestCheck: true,
      primaryIp: primary,
      secondaryIps: [],
      ipv4Prefixes: [],
      ipv6Addresses: [],
      ipv6Prefixes: [],
      createdAt: new Date(w.now()),
    };
    const v4 = addIpv4(
      w,
      e,
      {
        count: s.secondaryCount,
        ips: s.secondaryIps,
        prefixCount: s.ipv4PrefixCount,
        prefixes: s.ipv4Prefixes,
      },
      txn,
    );
    const v6 = addIpv6(w, e, { count: s.ipv6Count, prefixCount: s.ipv6PrefixCount }, txn);
    e.secondaryIps.push(...v4.ips);
    e.ipv4Prefixes.push(...v4.prefixes);
    e.ipv6Addresses.push(...v6.addresses);
    e.ipv6Prefixes.push(...v6.prefixes);
    w.enis.set(e.id, e);
    w.changed();
    return e;
  } catch (x) {
    txn.rollback();
    throw x;
  }
}

export function assignIpv4(w: World, id: string, r: Ipv4Request): { ips: string[]; prefixes: string[] } {
  const e = w.eni(id);
  const txn = new Txn();
  try {
    const got = addIpv4(w, e, r, txn);
    e.secondaryIps.push(...got.ips);
    e.ipv4Prefixes.push(...got.prefixes);
    w.changed();
    return got;
  } catch (x) {
    txn.rollback();
    throw x;
  }
}

export function unassignIpv4(w: World, id: string, ips: string[], prefixes: string[]): void {
  const e = w.eni(id);
  const canon = ips.map(canonicalIp);
  for (const ip of canon) {
    if (ip === e.primaryIp) throw err.invalidParam(`Cannot unassign the primary address ${ip} of ${id}.`);
    if (!e.secondaryIps.includes(ip))
      throw err.invalidParam(`Some of the specified addresses are not assigned to interface ${id}`);
  }
  for (const p of prefixes)
    if (!e.ipv4Prefixes.includes(p))
      throw err.invalidParam(`Some of the specified prefixes are not assigned to interface ${id}`);
  const a = w.alloc(e.subnetId);
  canon.forEach((ip) => a.release(ip));
  prefixes.forEach((p) => a.releasePrefix(p));
  e.secondaryIps = e.secondaryIps.filter((ip) => !canon.includes(ip));
  e.ipv4Prefixes = e.ipv4Prefixes.filter((p) => !prefixes.includes(p));
  w.changed();
}

export function assignIpv6(
  w: World,
  id: string,
  r: Ipv6Request,
): { addresses: string[]; prefixes: string[] } {
  const e = w.eni(id);
  const txn = new Txn();
  try {
    const got = addIpv6(w, e, r, txn);
    e.ipv6Addresses.push(...got.addresses);
    e.ipv6Prefixes.push(...got.prefixes);
    w.changed();
    return got;
  } catch (x) {
    txn.rollback();
    throw x;
  }
}

export function unassignIpv6(
  w: World,
  id: string,
  addrs: string[],
  prefixes: string[],
): { addresses: string[]; prefixes: string[] } {
  const e = w.eni(id);
  const canon = addrs.map(canonicalIp);
  for (const ip of canon)
    if (!e.ipv6Addresses.includes(ip)) throw err.invalidParam(`Address ${ip} is not assigned to ${id}`);
  for (const p of prefixes)
    if (!e.ipv6Prefixes.includes(p)) throw err.invalidParam(`Prefix ${p} is not assigned to ${id}`);
  const a = w.alloc(e.subnetId);
  canon.forEach((ip) => a.release6(ip));
  prefixes.forEach((p) => a.releasePrefix6(p));
  e.ipv6Addresses = e.ipv6Addresses.filter((ip) => !canon.includes(ip));
  e.ipv6Prefixes = e.ipv6Prefixes.filter((p) => !prefixes.includes(p));
  w.changed();
  return { addresses: canon, prefixes };
}

export interface ModifySpec {
  groups?: string[];
  description?: string;
  sourceDestCheck?: boolean;
  attachment?: { id: string; deleteOnTermination: boolean };
}

export function modifyEni(w: World, id: string, m: ModifySpec): void {
  const e = w.eni(id);
  if (m.groups) checkGroups(w, m.groups);
  if (m.attachment && e.attachment?.id !== m.attachment.id) throw err.notFoundAttachment(m.attachment.id);
  if (m.groups) e.groups = [...m.groups];
  if (m.description !== undefined) e.description = m.description;
  if (m.sourceDestCheck !== undefined) e.sourceDestCheck = m.sourceDestCheck;
  if (m.attachment) e.attachment!.deleteOnTermination = m.attachment.deleteOnTermination;
  w.changed();
}

/** The tag map of any taggable resource id. */
export function tagsOf(w: World, id: string): Map<string, string> {
  const r = w.enis.get(id) ?? w.subnets.get(id) ?? w.groups.get(id) ?? w.instances.get(id);
  if (r) return r.tags;
  if (id.startsWith('eni-')) throw err.notFoundEni(id);
  if (id.startsWith('subnet-')) throw err.notFoundSubnet(id);
  if (id.startsWith('i-'))
    throw new err.Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  throw new err.Ec2Error('InvalidID', `The ID '${id}' is not valid`);
}
