// A small pool model driven by the arithmetic, as ipamd's reconcile loop drives it (grow, else shrink, then
// maybe free an ENI). Used by the tests to replay upstream's worked examples and to check convergence.
import {
  PREFIX_SIZE,
  decreaseCount,
  deletableEni,
  isPoolTooHigh,
  isPoolTooLow,
  planIncrease,
  shouldRemoveExtraEnis,
} from './arithmetic.js';
import type { EniView, Increase, PoolLimits, PoolStats, WarmConfig } from './types.js';

export interface ModelEni {
  id: string;
  primary: boolean;
  /** Secondary IPs (SIP) or prefixes (PD). */
  cidrs: number;
  assigned: number;
}

export class PoolModel {
  enis: ModelEni[] = [{ id: 'eni-0', primary: true, cidrs: 0, assigned: 0 }];
  private nextId = 1;
  last: Increase | undefined;

  constructor(
    readonly cfg: WarmConfig,
    readonly limits: PoolLimits,
    readonly maxPods: number,
  ) {}

  private unit(): number {
    return this.cfg.prefixDelegation ? PREFIX_SIZE : 1;
  }

  stats(): PoolStats {
    const totalIPs = this.enis.reduce((n, e) => n + e.cidrs * this.unit(), 0);
    const assignedIPs = this.enis.reduce((n, e) => n + e.assigned, 0);
    const totalPrefixes = this.cfg.prefixDelegation ? this.enis.reduce((n, e) => n + e.cidrs, 0) : 0;
    const freePrefixes = this.cfg.prefixDelegation
      ? this.enis.reduce((n, e) => n + this.unassignedCidrs(e), 0)
      : 0;
    return { totalIPs, assignedIPs, totalPrefixes, freePrefixes };
  }

  private unassignedCidrs(e: ModelEni): number {
    return e.cidrs - Math.ceil(e.assigned / this.unit());
  }

  views(): EniView[] {
    return this.enis.map((e) => ({
      id: e.id,
      isPrimary: e.primary,
      isTrunk: false,
      isEfa: false,
      excluded: false,
      ageMs: 3_600_000,
      cidrCount: e.cidrs,
      sizeIps: e.cidrs * this.unit(),
      assignedIps: e.assigned,
      coolingIps: 0,
      unassignedCidrs: this.unassignedCidrs(e),
    }));
  }

  /** One reconcile cycle. */
  step(): void {
    const s = this.stats();
    if (isPoolTooLow(s, this.cfg, this.limits, this.maxPods)) {
      const inc = planIncrease(s, this.cfg, this.limits, this.views(), { maxPods: this.maxPods });
      this.last = inc;
      if (inc.kind === 'assign') (this.enis.find((e) => e.id === inc.eniId) as ModelEni).cidrs += inc.count;
      if (inc.kind === 'new-eni')
        this.enis.push({ id: `eni-${this.nextId++}`, primary: false, cidrs: inc.resources, assigned: 0 });
    } else if (isPoolTooHigh(s, this.cfg)) {
      let over = decreaseCount(s, this.cfg);
      for (const e of this.enis) {
        const take = Math.min(over, this.unassignedCidrs(e));
        e.cidrs -= take;
        over -= take;
      }
    }
    if (shouldRemoveExtraEnis(this.stats(), this.cfg, this.limits, this.views())) {
      const id = deletableEni(this.views(), this.cfg);
      if (id) this.enis = this.enis.filter((e) => e.id !== id);
    }
  }

  /** Places up to `n` new pods on free addresses, lowest ENI first; returns how many fit. */
  addPods(n: number): number {
    let placed = 0;
    for (const e of this.enis)
      while (placed < n && e.assigned < e.cidrs * this.unit()) {
        e.assigned++;
        placed++;
      }
    return placed;
  }

  removePods(n: number): void {
    for (const e of [...this.enis].reverse())
      while (n > 0 && e.assigned > 0) {
        e.assigned--;
        n--;
      }
  }

  snapshot(): string {
    return JSON.stringify(this.enis);
  }
}
