// Byte layouts of the datapath's maps and events (little-endian hosts). The C side is bpf/npa.h; the loader
// checks the key/value sizes it finds in each object against the sizes here before using a map.
// Pure functions: no I/O.
import { bytesToIp, ipToBytes } from '@vpc-cni/shared/netlink';
import {
  MAX_NP_ENTRIES,
  type Family,
  type FlowEvent,
  type NpEntry,
  type NpMapContent,
  PodState,
} from './contract.js';
import { DatapathError } from './errors.js';

export const addrLen = (f: Family): number => (f === 'ipv4' ? 4 : 16);
export const hostPrefix = (f: Family): number => (f === 'ipv4' ? 32 : 128);

export const NP_ENTRY_SIZE = 12;
export const CP_ENTRY_SIZE = 16;
export const NP_VALUE_SIZE = NP_ENTRY_SIZE * MAX_NP_ENTRIES; // 288
export const CP_VALUE_SIZE = CP_ENTRY_SIZE * MAX_NP_ENTRIES; // 384
export const CT_VALUE_SIZE = 16;
export const STATE_KEY_SIZE = 4;
export const STATE_VALUE_SIZE = 1;
export const trieKeySize = (f: Family): number => 4 + addrLen(f); // 8 / 20
export const ctKeySize = (f: Family): number => (f === 'ipv4' ? 24 : 60);
export const flowEventSize = (f: Family): number => (f === 'ipv4' ? 32 : 56);
export const NPA_META_SIZE = 40;

/** Parses a canonical CIDR of family `f`; anything else is a BAD_INPUT error naming it. */
export function parseCidr(cidr: string, f: Family): { addr: Buffer; len: number } {
  const slash = cidr.indexOf('/');
  if (slash < 0) throw new DatapathError('BAD_INPUT', `CIDR "${cidr}" has no prefix length`);
  const ip = cidr.slice(0, slash);
  const lenText = cidr.slice(slash + 1);
  let addr: Buffer;
  try {
    addr = ipToBytes(ip);
  } catch {
    throw new DatapathError('BAD_INPUT', `CIDR "${cidr}" is not an IP prefix`);
  }
  if (addr.length !== addrLen(f))
    throw new DatapathError('BAD_INPUT', `CIDR "${cidr}" is not of this datapath's family (${f})`);
  const len = Number(lenText);
  if (!/^\d+$/.test(lenText) || len > hostPrefix(f))
    throw new DatapathError('BAD_INPUT', `CIDR "${cidr}" has a bad prefix length`);
  for (let bit = len; bit < addr.length * 8; bit++)
    if (addr[bit >> 3]! & (0x80 >> (bit & 7)))
      throw new DatapathError('BAD_INPUT', `CIDR "${cidr}" is not canonical (host bits set)`);
  return { addr, len };
}

export function encodeTrieKey(cidr: string, f: Family): Buffer {
  const { addr, len } = parseCidr(cidr, f);
  const b = Buffer.alloc(trieKeySize(f));
  b.writeUInt32LE(len, 0);
  addr.copy(b, 4);
  return b;
}

export function decodeTrieKey(b: Buffer): string {
  return `${bytesToIp(Buffer.from(b.subarray(4)))}/${b.readUInt32LE(0)}`;
}

export function encodeNpValue(entries: readonly NpEntry[], cidr: string): Buffer {
  if (entries.length > MAX_NP_ENTRIES)
    throw new DatapathError(
      'BAD_INPUT',
      `${entries.length} port entries for ${cidr}: at most ${MAX_NP_ENTRIES} fit in one map value`,
    );
  const b = Buffer.alloc(NP_VALUE_SIZE);
  entries.forEach((e, i) => {
    const ok = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n <= max;
    if (!ok(e.protocol, 255) || e.protocol === 0 || !ok(e.startPort, 65535) || !ok(e.endPort, 65535))
      throw new DatapathError('BAD_INPUT', `bad port entry for ${cidr}: ${JSON.stringify(e)}`);
    b.writeUInt32LE(e.protocol, i * NP_ENTRY_SIZE);
    b.writeUInt32LE(e.startPort, i * NP_ENTRY_SIZE + 4);
    b.writeUInt32LE(e.endPort, i * NP_ENTRY_SIZE + 8);
  });
  return b;
}

/** Decodes the used entries (protocol ≠ 0) of an NP value. */
export function decodeNpValue(b: Buffer): NpEntry[] {
  const out: NpEntry[] = [];
  for (let i = 0; i < MAX_NP_ENTRIES; i++) {
    const protocol = b.readUInt32LE(i * NP_ENTRY_SIZE);
    if (protocol === 0) continue;
    out.push({
      protocol,
      startPort: b.readUInt32LE(i * NP_ENTRY_SIZE + 4),
      endPort: b.readUInt32LE(i * NP_ENTRY_SIZE + 8),
    });
  }
  return out;
}

export interface CpEntry {
  protocol: number;
  priority: number;
  startPort: number;
  endPort: number;
}

export function decodeCpValue(b: Buffer): CpEntry[] {
  const out: CpEntry[] = [];
  for (let i = 0; i < MAX_NP_ENTRIES; i++) {
    const o = i * CP_ENTRY_SIZE;
    const protocol = b.readUInt32LE(o);
    if (protocol === 0) continue;
    out.push({
      protocol,
      priority: b.readUInt32LE(o + 4),
      startPort: b.readUInt32LE(o + 8),
      endPort: b.readUInt32LE(o + 12),
    });
  }
  return out;
}

/** Encodes a whole NP map content: key hex → [key bytes, value bytes]. */
export function encodeNpContent(content: NpMapContent, f: Family): Map<string, [Buffer, Buffer]> {
  const out = new Map<string, [Buffer, Buffer]>();
  for (const [cidr, entries] of content) {
    const k = encodeTrieKey(cidr, f);
    out.set(k.toString('hex'), [k, encodeNpValue(entries, cidr)]);
  }
  return out;
}

export const encodeStateKey = (kind: 'np' | 'cp'): Buffer => {
  const b = Buffer.alloc(STATE_KEY_SIZE);
  b.writeUInt32LE(kind === 'np' ? 0 : 1, 0);
  return b;
};

export function decodeState(v: number): PodState {
  switch (v) {
    case PodState.PoliciesApplied:
    case PodState.DefaultAllow:
    case PodState.DefaultDeny:
      return v;
    default:
      throw new DatapathError('MAP_OP_FAILED', `pod state map holds unknown state ${v}`);
  }
}

export interface CtKey {
  srcIp: string;
  srcPort: number;
  destIp: string;
  destPort: number;
  protocol: number;
  ownerIp: string;
  ifindex: number;
}

export function encodeCtKey(k: CtKey, f: Family): Buffer {
  const n = addrLen(f);
  const b = Buffer.alloc(ctKeySize(f));
  const put = (ip: string, off: number) => {
    const a = ipToBytes(ip);
    if (a.length !== n) throw new DatapathError('BAD_INPUT', `${ip} is not an ${f} address`);
    a.copy(b, off);
  };
  put(k.srcIp, 0);
  b.writeUInt16LE(k.srcPort, n);
  put(k.destIp, n + 4);
  b.writeUInt16LE(k.destPort, 2 * n + 4);
  b.writeUInt8(k.protocol, 2 * n + 6);
  put(k.ownerIp, 2 * n + 8);
  b.writeUInt32LE(k.ifindex, 3 * n + 8);
  return b;
}

export function decodeCtKey(b: Buffer, f: Family): CtKey {
  const n = addrLen(f);
  const ip = (off: number) => bytesToIp(Buffer.from(b.subarray(off, off + n)));
  return {
    srcIp: ip(0),
    srcPort: b.readUInt16LE(n),
    destIp: ip(n + 4),
    destPort: b.readUInt16LE(2 * n + 4),
    protocol: b.readUInt8(2 * n + 6),
    ownerIp: ip(2 * n + 8),
    ifindex: b.readUInt32LE(3 * n + 8),
  };
}

export interface CtValue {
  val: bigint;
  lastSeen: bigint;
}

export const decodeCtValue = (b: Buffer): CtValue => ({
  val: b.readBigUInt64LE(0),
  lastSeen: b.readBigUInt64LE(8),
});

export function decodeFlowEvent(b: Buffer, f: Family): FlowEvent {
  const n = addrLen(f);
  if (b.length < flowEventSize(f))
    throw new DatapathError('MAP_OP_FAILED', `flow event of ${b.length} bytes (want ${flowEventSize(f)})`);
  const ip = (off: number) => bytesToIp(Buffer.from(b.subarray(off, off + n)));
  return {
    srcIp: ip(0),
    srcPort: b.readUInt32LE(n),
    destIp: ip(n + 4),
    destPort: b.readUInt32LE(2 * n + 4),
    protocol: b.readUInt32LE(2 * n + 8),
    verdict: b.readUInt32LE(2 * n + 12) === 1 ? 'ACCEPT' : 'DENY',
    packetSize: b.readUInt32LE(2 * n + 16),
    isEgress: b.readUInt8(2 * n + 20) === 1,
    tier: b.readUInt8(2 * n + 21),
  };
}

/** The `npa_meta` read-only global (bpf/npa.h): object hash (32 bytes) + file version. */
export function encodeMeta(hash: Buffer): Buffer {
  const b = Buffer.alloc(NPA_META_SIZE);
  hash.copy(b, 0, 0, 32);
  b.writeUInt32LE(2, 32);
  return b;
}
