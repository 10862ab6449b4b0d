// Conntrack garbage collection of the datapath's LRU map (see README.md, "Conntrack"). Two phases on
// alternating ticks: snapshot (remember every key of the BPF map), then sweep (delete snapshotted keys whose
// flow the kernel's netfilter conntrack no longer knows and that the datapath has not hit since the sweep
// began). The decision is a pure function; the I/O is in conntrack-table.ts.
import type { CtKey } from './layout.js';
import type { KernelFlow, Tuple } from './nf-conntrack.js';

/** The ifindex-free identity of a BPF conntrack key. */
export const flowId = (k: Omit<CtKey, 'ifindex'>): string =>
  `${k.srcIp}|${k.srcPort}|${k.destIp}|${k.destPort}|${k.protocol}|${k.ownerIp}`;

const idOf = (t: Tuple, sport: number, dport: number, dst: string, owner: string): string =>
  flowId({ srcIp: t.src, srcPort: sport, destIp: dst, destPort: dport, protocol: t.proto, ownerIp: owner });

/** The BPF key identities (ifindex stripped) that a live kernel flow keeps alive. */
export function liveIds(flows: readonly KernelFlow[]): Set<string> {
  const out = new Set<string>();
  for (const { orig, reply } of flows) {
    const ports = (t: Tuple) =>
      t.proto === 6 || t.proto === 17 || t.proto === 132 ? t : { sport: 0, dport: 0 };
    const { sport, dport } = ports(orig);
    out.add(idOf(orig, sport, dport, orig.dst, orig.src));
    out.add(idOf(orig, sport, dport, orig.dst, orig.dst));
    if (reply.src !== orig.dst) {
      // DNAT (a Service backend): the flow as the backend pod sees it.
      const rp = ports(reply).sport;
      out.add(idOf(orig, sport, rp, reply.src, orig.src));
      out.add(idOf(orig, sport, rp, reply.src, reply.src));
    }
  }
  return out;
}

export interface SweepDecision {
  key: Buffer;
  delete: boolean;
}

/**
 * For each snapshotted key: delete when its flow is not live and its entry was not hit since `gcStart`
 * (a missing entry was already removed: nothing to do).
 */
export function sweep(
  snapshot: readonly { key: Buffer; id: string }[],
  live: ReadonlySet<string>,
  lastSeen: (key: Buffer) => bigint | undefined | 'error',
  gcStart: bigint,
): Buffer[] {
  const out: Buffer[] = [];
  for (const { key, id } of snapshot) {
    if (live.has(id)) continue;
    const seen = lastSeen(key);
    if (seen === undefined || seen === 'error' || seen >= gcStart) continue;
    out.push(key);
  }
  return out;
}
