// How the datastore reads addresses under the node's mode: which CIDRs serve pods (active), which released
// addresses are still cooling down, the lowest usable address of a CIDR, and the pool numbers built from them.
import { type Family, cidrSize, nthAddress } from '@vpc-cni/shared/ipmath';
import type { AddressEntry, CidrEntry, EniEntry } from './types.js';

export interface IpStats {
  totalIPs: number;
  assignedIPs: number;
  coolingIPs: number;
  availableIPs: number;
  totalPrefixes: number;
  freePrefixes: number;
}

export interface ModeOptions {
  family: Family;
  prefixDelegation: boolean;
  cooldownMs: number;
}

export class AddressRules {
  constructor(
    private readonly o: ModeOptions,
    private readonly nowMs: () => number,
  ) {}

  /** Whether pods get addresses from this CIDR in the active mode (secondary IPs, /28 or /80 prefixes). */
  isActive(c: CidrEntry): boolean {
    if (c.cidr.family !== this.o.family) return false;
    if (this.o.family === 6) return c.isPrefix;
    return this.o.prefixDelegation ? c.isPrefix : !c.isPrefix;
  }

  cooling(a: AddressEntry): boolean {
    return !a.key && a.unassignedAtMs !== undefined && this.nowMs() - a.unassignedAtMs < this.o.cooldownMs;
  }

  countAssigned(c: CidrEntry): number {
    let n = 0;
    for (const a of c.addresses.values()) if (a.key) n++;
    return n;
  }

  countCooling(c: CidrEntry): number {
    let n = 0;
    for (const a of c.addresses.values()) if (this.cooling(a)) n++;
    return n;
  }

  /** Forgets a cooled-down entry; one function for every call (forEach, not for-of: no [key, value] array). */
  private readonly sweep = (a: AddressEntry, ip: string, m: Map<string, AddressEntry>): void => {
    if (!a.key && !this.cooling(a)) m.delete(ip);
  };

  /** Lowest address that is neither assigned nor cooling; cooled-down entries are forgotten on the way. */
  unusedAddress(c: CidrEntry): string | undefined {
    c.addresses.forEach(this.sweep);
    // Full (every address assigned or cooling): no address text to build. Assign walks every CIDR of the node
    // in order, so with secondary IPs (one /32 each) this is most of them; checked without a bigint (each one
    // allocates, and this runs once per CIDR per AddNetwork). 2^hostBits is exact in a double up to 2^53.
    const hostBits = (c.cidr.family === 4 ? 32 : 128) - c.cidr.bits;
    if (hostBits < 53 && c.addresses.size >= 2 ** hostBits) return undefined;
    if (c.cidr.family === 4) {
      // IPv4: plain numbers (no bigint, no byte buffer per address tried). The first free slot is within the
      // first (entries + 1) addresses.
      const base = Number(c.cidr.base);
      const limit = Math.min(c.addresses.size + 1, 2 ** hostBits);
      for (let i = 0; i < limit; i++) {
        const n = base + i;
        const ip = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
        if (!c.addresses.has(ip)) return ip;
      }
      return undefined;
    }
    const size = cidrSize(c.cidr);
    if (BigInt(c.addresses.size) >= size) return undefined;
    const limit = BigInt(c.addresses.size) + 1n < size ? BigInt(c.addresses.size) + 1n : size;
    for (let i = 0n; i < limit; i++) {
      const ip = nthAddress(c.cidr, i);
      if (!c.addresses.has(ip)) return ip;
    }
    return undefined;
  }

  /**
   * Pool numbers of the active mode, skipping excluded ENIs (docs/architecture.md#subnet-discovery). Cooling
   * addresses count as available.
   */
  stats(enis: Iterable<EniEntry>): IpStats {
    let totalIPs = 0;
    let assignedIPs = 0;
    let coolingIPs = 0;
    let totalPrefixes = 0;
    let freePrefixes = 0;
    for (const eni of enis) {
      for (const cidr of eni.cidrs.values()) {
        const used = this.countAssigned(cidr);
        if (cidr.isPrefix && cidr.cidr.family === 4) {
          totalPrefixes++;
          if (used === 0) freePrefixes++;
        }
        if (eni.excludedForPods || !this.isActive(cidr)) continue;
        totalIPs += Number(cidrSize(cidr.cidr));
        assignedIPs += used;
        coolingIPs += this.countCooling(cidr);
      }
    }
    return {
      totalIPs,
      assignedIPs,
      coolingIPs,
      availableIPs: totalIPs - assignedIPs,
      totalPrefixes,
      freePrefixes,
    };
  }

  /** Milliseconds until the first cooling address (of an active CIDR, on a pod ENI) is free again. */
  msUntilCooled(enis: Iterable<EniEntry>): number | undefined {
    let soonest: number | undefined;
    for (const eni of enis) {
      if (eni.excludedForPods) continue;
      for (const c of eni.cidrs.values()) {
        if (!this.isActive(c)) continue;
        for (const a of c.addresses.values())
          if (this.cooling(a)) {
            const left = a.unassignedAtMs! + this.o.cooldownMs - this.nowMs();
            soonest = soonest === undefined ? left : Math.min(soonest, left);
          }
      }
    }
    return soonest;
  }
}
