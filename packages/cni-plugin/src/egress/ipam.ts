// The egress range's local IPAM: host-local's on-disk format (one file per reserved address named by the address,
// holding "<containerID>\r\n<ifname>", plus last_reserved_ip.0), so a node can swap between upstream's host-local
// and this plugin without losing reservations. An address is reserved by link(2)ing a fully written, fsynced
// temporary file to its name: atomic and exclusive (EEXIST when taken), so two concurrent ADDs, a crash at any
// point, or upstream's host-local (which creates the same files with O_EXCL) can never hand an address out twice.
// A crash leaves at most a dot-file, which is never taken for a reservation.
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  type Cidr,
  bigintToIp,
  canonicalIp,
  cidrContains,
  cidrSize,
  ipToBigint,
  isIPv4,
  isIPv6,
  parseCidr,
} from '@vpc-cni/shared/ipmath';
import { CniCode, CniError } from '../cni/errors.js';
import type { EgressIpamConf } from './conf.js';

/** One range as host-local reads it: defaults applied, checked. */
export interface IpamRange {
  readonly cidr: Cidr;
  readonly start: bigint;
  readonly end: bigint;
  readonly gateway: string;
}

const bad = (msg: string) =>
  new CniError(CniCode.InvalidNetworkConfig, `egress-cni: ${msg}`, 'fix the ipam section of the conflist');

/**
 * host-local's defaults: start = network + 1, end = broadcast - 1 (IPv4) or the last address (IPv6),
 * gateway = network + 1 (never handed out).
 */
export function ipamRange(c: EgressIpamConf): IpamRange {
  const cidr = parseCidr(c.subnet);
  const last = cidr.base + cidrSize(cidr) - 1n;
  const inside = (key: string, ip: string | undefined): bigint | undefined => {
    if (ip === undefined) return undefined;
    if (!cidrContains(cidr, ip)) throw bad(`ipam ${key} ${ip} is outside the subnet ${c.subnet}`);
    return ipToBigint(ip);
  };
  const start = inside('rangeStart', c.rangeStart) ?? cidr.base + 1n;
  const end = inside('rangeEnd', c.rangeEnd) ?? (cidr.family === 4 ? last - 1n : last);
  if (start > end) throw bad(`ipam rangeStart ${c.rangeStart ?? ''} is after rangeEnd ${c.rangeEnd ?? ''}`);
  const gateway = c.gateway ?? bigintToIp(cidr.base + 1n, cidr.family);
  inside('gateway', gateway);
  return { cidr, start, end, gateway: canonicalIp(gateway) };
}

/** Candidate addresses in host-local's order: after the last reserved one, wrapping around, gateway skipped. */
export function* candidates(r: IpamRange, lastReserved: string | undefined): Generator<string> {
  const size = r.end - r.start + 1n;
  let first = r.start;
  if (lastReserved && (isIPv4(lastReserved) || isIPv6(lastReserved)) && cidrContains(r.cidr, lastReserved)) {
    const n = ipToBigint(lastReserved);
    if (n >= r.start && n <= r.end) first = n === r.end ? r.start : n + 1n;
  }
  const gw = ipToBigint(r.gateway);
  for (let i = 0n; i < size; i++) {
    const n = r.start + ((first - r.start + i) % size);
    if (n !== gw) yield bigintToIp(n, r.cidr.family);
  }
}

const LAST_RESERVED = 'last_reserved_ip.0';
const key = (id: string, ifName: string) => `${id}\r\n${ifName}`;

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeDurable(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** host-local's store for one network: `<dataDir>/<network name>/`. */
export class HostLocalStore {
  readonly dir: string;

  constructor(dataDir: string, network: string) {
    if (!network) throw bad('the network "name" is empty; host-local needs it for its directory');
    this.dir = join(dataDir, network);
  }

  /** Reserved addresses (file names that are IP addresses) with their owner key. */
  private entries(): { ip: string; owner: string }[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: { ip: string; owner: string }[] = [];
    for (const n of names) {
      if (!isIPv4(n) && !isIPv6(n)) continue;
      try {
        out.push({ ip: n, owner: readFileSync(join(this.dir, n), 'utf8').trim() });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // released meanwhile
      }
    }
    return out;
  }

  /** The address reserved for this container and interface, if any. */
  find(id: string, ifName: string): string | undefined {
    const k = key(id, ifName);
    return this.entries().find((e) => e.owner === k)?.ip;
  }

  /** Reserves an address (the one it already holds, if any): exclusive and durable before it returns. */
  reserve(id: string, ifName: string, range: IpamRange): string {
    const held = this.find(id, ifName);
    if (held) return held;
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    let last: string | undefined;
    try {
      last = readFileSync(join(this.dir, LAST_RESERVED), 'utf8').trim();
    } catch {
      last = undefined;
    }
    const tmp = join(
      this.dir,
      `.reserve-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    );
    writeDurable(tmp, key(id, ifName));
    try {
      for (const ip of candidates(range, last)) {
        try {
          linkSync(tmp, join(this.dir, ip));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw e;
        }
        const lastTmp = `${tmp}.last`;
        writeDurable(lastTmp, ip);
        renameSync(lastTmp, join(this.dir, LAST_RESERVED));
        fsyncDir(this.dir);
        return ip;
      }
    } finally {
      unlinkSync(tmp);
    }
    throw new CniError(
      CniCode.Internal,
      `egress-cni: no address left in ${range.cidr.family === 4 ? 'IPv4' : 'IPv6'} egress range ${bigintToIp(range.start, range.cidr.family)}-${bigintToIp(range.end, range.cidr.family)}`,
      `every address is reserved in ${this.dir}; remove the files of containers that no longer exist`,
    );
  }

  /** Releases what this container and interface hold; returns the released addresses (none is fine). */
  release(id: string, ifName: string): string[] {
    const k = key(id, ifName);
    const mine = this.entries().filter((e) => e.owner === k);
    for (const e of mine) {
      try {
        unlinkSync(join(this.dir, e.ip));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (mine.length) fsyncDir(this.dir);
    return mine.map((e) => e.ip);
  }
}
