// Address allocation inside one subnet: EC2 reserves the first four and the last address; every other address
// (and every address of an assigned /28 prefix) is handed out at most once until released.
import { bigintToIp, cidrContains, cidrSize, ipToBigint, parseCidr, type Cidr } from '@vpc-cni/shared/ipmath';

export class SubnetAllocator {
  private readonly v4: Cidr;
  private readonly size: number;
  /** IPv4 offsets (from the subnet base) in use, reserved ones excluded. */
  private readonly used = new Set<number>();
  private readonly v6?: Cidr;
  private readonly used6 = new Set<bigint>(); // single IPv6 addresses, offsets inside the first /80
  private readonly usedPrefix6 = new Set<bigint>(); // /80 indexes (1..); index 0 holds single addresses
  private next6 = 0x10n;

  constructor(cidr: string, ipv6Cidr?: string) {
    this.v4 = parseCidr(cidr);
    this.size = Number(cidrSize(this.v4));
    if (ipv6Cidr) this.v6 = parseCidr(ipv6Cidr);
  }

  /** Addresses still free, as DescribeSubnets' AvailableIpAddressCount reports. */
  available(): number {
    return this.size - 5 - this.used.size;
  }

  private reserved(off: number): boolean {
    return off < 4 || off === this.size - 1;
  }

  private offsetOf(ip: string): number | undefined {
    if (!cidrContains(this.v4, ip)) return undefined;
    return Number(ipToBigint(ip) - this.v4.base);
  }

  private ipAt(off: number): string {
    return bigintToIp(this.v4.base + BigInt(off), 4);
  }

  /** The lowest free addresses, or undefined (nothing taken) when fewer than n are free. */
  allocate(n: number): string[] | undefined {
    if (n > this.available()) return undefined;
    const out: string[] = [];
    for (let off = 4; off < this.size - 1 && out.length < n; off++) {
      if (!this.used.has(off)) out.push(this.ipAt(off));
    }
    for (const ip of out) this.used.add(this.offsetOf(ip)!);
    return out;
  }

  /** Takes a specific address; false when it is outside, reserved or taken. */
  take(ip: string): boolean {
    const off = this.offsetOf(ip);
    if (off === undefined || this.reserved(off) || this.used.has(off)) return false;
    this.used.add(off);
    return true;
  }

  isFree(ip: string): boolean {
    const off = this.offsetOf(ip);
    return off !== undefined && !this.reserved(off) && !this.used.has(off);
  }

  /** n aligned /28 prefixes with no used or reserved address, lowest first; undefined when not enough. */
  allocatePrefixes(n: number): string[] | undefined {
    const out: number[] = [];
    for (let start = 0; start + 16 <= this.size && out.length < n; start += 16) {
      if (this.blockFree(start)) out.push(start);
    }
    if (out.length < n) return undefined;
    for (const s of out) for (let i = 0; i < 16; i++) this.used.add(s + i);
    return out.map((s) => `${this.ipAt(s)}/28`);
  }

  takePrefix(prefix: string): boolean {
    const c = parseCidr(prefix);
    if (c.family !== 4 || c.bits !== 28) return false;
    const off = this.offsetOf(bigintToIp(c.base, 4));
    if (off === undefined || !this.blockFree(off)) return false;
    for (let i = 0; i < 16; i++) this.used.add(off + i);
    return true;
  }

  private blockFree(start: number): boolean {
    for (let i = start; i < start + 16; i++) if (this.reserved(i) || this.used.has(i)) return false;
    return true;
  }

  release(ip: string): void {
    const off = this.offsetOf(ip);
    if (off !== undefined) this.used.delete(off);
  }

  releasePrefix(prefix: string): void {
    const off = this.offsetOf(prefix.split('/')[0]!);
    if (off !== undefined) for (let i = 0; i < 16; i++) this.used.delete(off + i);
  }

  // ---- IPv6 (single addresses from the subnet's first /80, /80 prefixes after it) ----

  hasIpv6(): boolean {
    return this.v6 !== undefined;
  }

  allocate6(n: number): string[] {
    const v6 = this.v6!;
    const out: string[] = [];
    while (out.length < n) {
      const off = this.next6++;
      if (!this.used6.has(off)) {
        this.used6.add(off);
        out.push(bigintToIp(v6.base + off, 6));
      }
    }
    return out;
  }

  take6(ip: string): boolean {
    const v6 = this.v6;
    if (!v6 || !cidrContains(v6, ip)) return false;
    const off = ipToBigint(ip) - v6.base;
    if (off >= 1n << 48n || this.used6.has(off)) return false;
    this.used6.add(off);
    return true;
  }

  release6(ip: string): void {
    if (this.v6) this.used6.delete(ipToBigint(ip) - this.v6.base);
  }

  allocatePrefix6(n: number): string[] {
    const v6 = this.v6!;
    const out: string[] = [];
    for (let i = 1n; out.length < n; i++) {
      if (this.usedPrefix6.has(i)) continue;
      this.usedPrefix6.add(i);
      out.push(`${bigintToIp(v6.base + (i << 48n), 6)}/80`);
    }
    return out;
  }

  takePrefix6(prefix: string): boolean {
    const v6 = this.v6;
    const c = parseCidr(prefix);
    if (!v6 || c.family !== 6 || c.bits !== 80 || !cidrContains(v6, bigintToIp(c.base, 6))) return false;
    const i = (c.base - v6.base) >> 48n;
    if (i === 0n || this.usedPrefix6.has(i)) return false;
    this.usedPrefix6.add(i);
    return true;
  }

  releasePrefix6(prefix: string): void {
    if (this.v6) this.usedPrefix6.delete((parseCidr(prefix).base - this.v6.base) >> 48n);
  }
}
