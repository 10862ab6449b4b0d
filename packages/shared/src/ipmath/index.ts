// IP arithmetic on bigints for IPv4 and IPv6 CIDRs: parse, format, contain, walk. Used by the datastore (which
// walks /28 and /80 prefixes) and the simulator (which allocates from subnets).
import { isIPv4, isIPv6 } from './ip-syntax.js';
import { bytesToIp, ipToBytes } from '../netlink/addr-bytes.js';

export { isIPv4, isIPv6 };

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  /** Network address (host bits cleared). */
  base: bigint;
  bits: number;
}

const width = (f: Family): number => (f === 4 ? 32 : 128);

export function familyOf(ip: string): Family {
  if (isIPv4(ip)) return 4;
  if (isIPv6(ip)) return 6;
  throw new Error(`not an IP address: "${ip}"`);
}

export function ipToBigint(ip: string): bigint {
  let n = 0n;
  for (const b of ipToBytes(ip)) n = (n << 8n) | BigInt(b);
  return n;
}

export function bigintToIp(n: bigint, family: Family): string {
  const len = family === 4 ? 4 : 16;
  const out = Buffer.alloc(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return bytesToIp(out);
}

/** "10.0.1.16/28" → Cidr; a bare address is a host CIDR; host bits are cleared. */
export function parseCidr(text: string): Cidr {
  const [ip, bitsText] = text.split('/') as [string, string | undefined];
  const family = familyOf(ip);
  const bits = bitsText === undefined ? width(family) : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width(family) || bitsText === '')
    throw new Error(`bad prefix length in "${text}"`);
  const host = width(family) - bits;
  const base = (ipToBigint(ip) >> BigInt(host)) << BigInt(host);
  return { family, base, bits };
}

export const formatCidr = (c: Cidr): string => `${bigintToIp(c.base, c.family)}/${c.bits}`;

/** Number of addresses in the CIDR (2^host bits). */
export const cidrSize = (c: Cidr): bigint => 1n << BigInt(width(c.family) - c.bits);

export function cidrContains(c: Cidr, ip: string): boolean {
  if (familyOf(ip) !== c.family) return false;
  const n = ipToBigint(ip);
  return n >= c.base && n < c.base + cidrSize(c);
}

/** The i-th address of the CIDR (0 = network address). */
export function nthAddress(c: Cidr, i: bigint): string {
  if (i < 0n || i >= cidrSize(c)) throw new Error(`address #${i} is outside ${formatCidr(c)}`);
  return bigintToIp(c.base + i, c.family);
}

/** Canonical text of an address (e.g. IPv6 compressed). */
export const canonicalIp = (ip: string): string => bigintToIp(ipToBigint(ip), familyOf(ip));

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  return a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);
}
