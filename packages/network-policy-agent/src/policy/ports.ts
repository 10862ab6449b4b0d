// Port specs → map entries: protocol names to numbers, ranges merged per protocol, entries already covered by
// an "any protocol" entry dropped, so a CIDR uses as few of its 24 entries as the rules allow.
import { type NpEntry, PROTO_ANY, PROTO_SCTP, PROTO_TCP, PROTO_UDP } from '../datapath/contract.js';
import type { PortSpec } from './types.js';

/** An inclusive port interval of one protocol; [0, 65535] = every port (encoded as start 0). */
export interface PortRange {
  protocol: number;
  lo: number;
  hi: number;
}

const PROTOCOLS: Record<string, number> = {
  TCP: PROTO_TCP,
  UDP: PROTO_UDP,
  SCTP: PROTO_SCTP,
  ANY_IP_PROTOCOL: PROTO_ANY,
};

export const ALL_PORTS = { lo: 0, hi: 65535 } as const;

/** One port spec → a range, or a reason it cannot be encoded. A missing protocol means TCP (CRD default). */
export function portRange(p: PortSpec): PortRange | { error: string } {
  const name = (p.protocol ?? 'TCP').toUpperCase();
  const protocol = PROTOCOLS[name];
  if (protocol === undefined)
    return { error: `protocol "${p.protocol}" is not one of TCP, UDP, SCTP, ANY_IP_PROTOCOL` };
  if (p.port === undefined || p.port === 0) {
    if (p.endPort !== undefined && p.endPort !== 0) return { error: `endPort ${p.endPort} without port` };
    return { protocol, ...ALL_PORTS };
  }
  const okPort = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!okPort(p.port)) return { error: `port ${p.port} is not in 1-65535` };
  if (p.endPort === undefined || p.endPort === 0) return { protocol, lo: p.port, hi: p.port };
  if (!okPort(p.endPort) || p.endPort < p.port)
    return { error: `endPort ${p.endPort} is not in ${p.port}-65535` };
  return { protocol, lo: p.port, hi: p.endPort };
}

/** Union of intervals, sorted, overlapping and adjacent ones joined. */
function mergeIntervals(xs: readonly { lo: number; hi: number }[]): { lo: number; hi: number }[] {
  const sorted = [...xs].sort((a, b) => a.lo - b.lo || a.hi - b.hi);
  const out: { lo: number; hi: number }[] = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && x.lo <= last.hi + 1) last.hi = Math.max(last.hi, x.hi);
    else out.push({ ...x });
  }
  return out;
}

/** True when an interval of `cover` holds all of `x`. */
const covered = (x: { lo: number; hi: number }, cover: readonly { lo: number; hi: number }[]): boolean =>
  cover.some((c) => c.lo <= x.lo && x.hi <= c.hi);

const toEntry = (protocol: number, r: { lo: number; hi: number }): NpEntry =>
  r.lo === ALL_PORTS.lo && r.hi === ALL_PORTS.hi
    ? { protocol, startPort: 0, endPort: 0 }
    : { protocol, startPort: r.lo, endPort: r.hi === r.lo ? 0 : r.hi };

/**
 * The smallest entry list matching exactly the union of `ranges` under the datapath's lookup: "any protocol"
 * ranges first, then per protocol (ascending) the ranges no "any" range covers whole (a range is never split: start 0
 * means "every port" to the datapath, so a split could not encode [0, n]). Deterministic.
 */
export function encodeRanges(ranges: readonly PortRange[]): NpEntry[] {
  const byProto = new Map<number, { lo: number; hi: number }[]>();
  for (const r of ranges) {
    const list = byProto.get(r.protocol) ?? [];
    list.push({ lo: r.lo, hi: r.hi });
    byProto.set(r.protocol, list);
  }
  const any = mergeIntervals(byProto.get(PROTO_ANY) ?? []);
  const out = any.map((r) => toEntry(PROTO_ANY, r));
  for (const proto of [...byProto.keys()].filter((p) => p !== PROTO_ANY).sort((a, b) => a - b)) {
    for (const r of mergeIntervals(byProto.get(proto) ?? []))
      if (!covered(r, any)) out.push(toEntry(proto, r));
  }
  return out;
}
