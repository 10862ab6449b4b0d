// The node's pinned BPF conntrack map as the datapath uses it: the garbage collection tick (decision in
// conntrack-gc.ts, kernel flows from nf-conntrack.ts) and the flush of a pod's entries (README.md, "Conntrack
// garbage collection and flush"). Owned by one EbpfDatapath; the fd is its.
import type { Family } from './contract.js';
import { flowId, liveIds, sweep } from './conntrack-gc.js';
import { mapDelete, mapKeys, mapLookup } from './bpf-object.js';
import { ctKeySize, decodeCtKey, decodeCtValue } from './layout.js';
import { listKernelFlows } from './nf-conntrack.js';

export class ConntrackTable {
  private gcSnapshot: { key: Buffer; id: string }[] | undefined;

  constructor(
    readonly fd: number,
    private readonly family: Family,
    private readonly netns: string | undefined,
  ) {}

  /** One GC tick: alternately a snapshot of the keys, then a sweep against the kernel's table. Returns deletions. */
  gcTick(): number {
    const ks = ctKeySize(this.family);
    if (!this.gcSnapshot) {
      this.gcSnapshot = mapKeys(this.fd, ks).map((key) => {
        const { ifindex: _ifindex, ...rest } = decodeCtKey(key, this.family);
        return { key, id: flowId(rest) };
      });
      return 0;
    }
    const snapshot = this.gcSnapshot;
    this.gcSnapshot = undefined;
    const gcStart = process.hrtime.bigint(); // CLOCK_MONOTONIC, as bpf_ktime_get_ns
    const live = liveIds(listKernelFlows(this.family, this.netns));
    const doomed = sweep(
      snapshot,
      live,
      (k) => {
        try {
          const v = mapLookup(this.fd, k, 16);
          return v ? decodeCtValue(v).lastSeen : undefined;
        } catch {
          return 'error';
        }
      },
      gcStart,
    );
    let n = 0;
    for (const k of doomed) if (mapDelete(this.fd, k) === 0) n++;
    return n;
  }

  /** Deletes the entries `podIp` owns (every entry without it). Returns deletions. */
  flush(podIp?: string): number {
    let n = 0;
    for (const k of mapKeys(this.fd, ctKeySize(this.family))) {
      if (podIp !== undefined && decodeCtKey(k, this.family).ownerIp !== podIp) continue;
      if (mapDelete(this.fd, k) === 0) n++;
    }
    return n;
  }
}
