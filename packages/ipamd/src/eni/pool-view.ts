// The datastore seen through the warm-pool arithmetic's eyes: one view per ENI (the pool totals are the
// datastore's own stats, `ds.stats()`).
import type { Datastore } from '../store/index.js';
import { PREFIX_SIZE, type EniView } from '../warm/index.js';
import type { EniLedger } from './ledger.js';

export function eniViews(ds: Datastore, ledger: EniLedger): EniView[] {
  return ds.eniList().map((e) => {
    let assigned = 0;
    let size = 0;
    let unassignedCidrs = 0;
    for (const c of e.cidrs.values()) {
      let used = 0;
      for (const a of c.addresses.values()) if (a.key) used++;
      assigned += used;
      size += c.isPrefix ? PREFIX_SIZE : 1;
      if (used === 0) unassignedCidrs++;
    }
    return {
      id: e.id,
      isPrimary: e.isPrimary,
      isTrunk: e.isTrunk,
      isEfa: e.isEfa,
      excluded: e.excludedForPods,
      ageMs: ledger.ageMs(e.id),
      cidrCount: e.cidrs.size,
      sizeIps: size,
      assignedIps: assigned,
      coolingIps: ds.coolingCount(e.id),
      unassignedCidrs,
    };
  });
}
