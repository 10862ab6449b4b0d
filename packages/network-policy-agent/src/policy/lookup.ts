// The datapath's NP lookup and per-packet verdict as pure functions over map content, for tests: the property
// test checks compiled content against the reference evaluator through these. Same algorithm as the C programs
// (package README "Datapath lookup"): longest prefix, then the first matching of up to 24 entries.
import { type Cidr, familyOf, ipToBigint, parseCidr } from '@vpc-cni/shared/ipmath';
import { type NpEntry, type NpMapContent, PROTO_ANY, PROTO_DENY, PodState } from '../datapath/contract.js';

export type NpVerdict = 'allow' | 'deny' | 'pass';

function longestMatch(content: NpMapContent, ip: string): readonly NpEntry[] | undefined {
  const family = familyOf(ip);
  const n = ipToBigint(ip);
  const width = family === 4 ? 32 : 128;
  let best: { c: Cidr; entries: readonly NpEntry[] } | undefined;
  for (const [key, entries] of content) {
    const c = parseCidr(key);
    if (c.family !== family) continue;
    const shift = BigInt(width - c.bits);
    if (n >> shift !== c.base >> shift) continue;
    if (!best || c.bits > best.c.bits) best = { c, entries };
  }
  return best?.entries;
}

/** An entry matches a packet's protocol and destination port (protocol 0 = unused, never matches). */
export function entryMatches(e: NpEntry, protocol: number, dport: number): boolean {
  if (e.protocol === 0) return false;
  if (e.protocol !== PROTO_ANY && e.protocol !== protocol) return false;
  return e.startPort === 0 || dport === e.startPort || (e.startPort < dport && dport <= e.endPort);
}

/** NP lookup of the remote address (source for ingress, destination for egress). */
export function npLookup(
  content: NpMapContent,
  np: PodState,
  remoteIp: string,
  protocol: number,
  dport: number,
): NpVerdict {
  const entries = longestMatch(content, remoteIp);
  if (!entries) return np === PodState.PoliciesApplied ? 'deny' : 'pass';
  for (const e of entries) {
    if (e.protocol === PROTO_DENY) return 'deny';
    if (entryMatches(e, protocol, dport)) return 'allow';
  }
  return 'deny';
}

/** Verdict of a new flow with no cluster policy (CP lookup says Pass): NP lookup, then the default. */
export function newFlowVerdict(
  content: NpMapContent,
  np: PodState,
  remoteIp: string,
  protocol: number,
  dport: number,
): 'allow' | 'deny' {
  const v = npLookup(content, np, remoteIp, protocol, dport);
  if (v !== 'pass') return v;
  return np === PodState.DefaultAllow ? 'allow' : 'deny';
}
