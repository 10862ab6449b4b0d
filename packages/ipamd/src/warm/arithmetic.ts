// Upstream's warm-pool decisions (docs/architecture.md#warm-pool; network card 0) as pure functions. Every
// "no" carries a reason in words, because ipamd shows it in the error a pod gets when the pool cannot grow.
import type { EniView, Increase, PoolLimits, PoolStats, WarmConfig } from './types.js';

export const PREFIX_SIZE = 16;
/** ENIs younger than this are never freed (docs/architecture.md#warm-pool). */
export const MIN_ENI_AGE_MS = 60_000;

export function poolLimits(instance: { enis: number; ipv4PerEni: number }, cfg: WarmConfig): PoolLimits {
  const maxEni = cfg.maxEni >= 1 ? Math.min(instance.enis, cfg.maxEni) : instance.enis;
  const perEni = instance.ipv4PerEni - 1;
  return cfg.prefixDelegation
    ? { maxEni, maxIpsPerEni: perEni * PREFIX_SIZE, maxPrefixesPerEni: perEni }
    : { maxEni, maxIpsPerEni: perEni, maxPrefixesPerEni: 0 };
}

export const targetsDefined = (cfg: WarmConfig): boolean => cfg.warmIpTarget > 0 || cfg.minimumIpTarget > 0;

/** (short, over) against WARM_IP_TARGET / MINIMUM_IP_TARGET; prefix units in PD. */
export function targetState(
  s: PoolStats,
  cfg: WarmConfig,
): { short: number; over: number; defined: boolean } {
  if (!targetsDefined(cfg)) return { short: 0, over: 0, defined: false };
  const W = cfg.warmIpTarget;
  const M = cfg.minimumIpTarget;
  const T = s.totalIPs;
  const avail = T - s.assignedIPs;
  let short = Math.max(W - avail, 0);
  short = Math.max(short, M - T);
  let over = Math.max(avail - W, 0);
  over = Math.max(Math.min(over, T - M), 0);
  if (!cfg.prefixDelegation) return { short, over, defined: true };
  const P = s.totalPrefixes;
  let overPrefixes = Math.max(Math.min(s.freePrefixes, P - Math.ceil((s.assignedIPs + W) / PREFIX_SIZE)), 0);
  overPrefixes = Math.max(Math.min(overPrefixes, P - Math.ceil(M / PREFIX_SIZE)), 0);
  return { short: Math.ceil(short / PREFIX_SIZE), over: overPrefixes, defined: true };
}

export function isPoolTooLow(s: PoolStats, cfg: WarmConfig, limits: PoolLimits, maxPods: number): boolean {
  if (s.totalIPs >= maxPods) return false;
  const t = targetState(s, cfg);
  if (t.defined) return t.short > 0;
  const avail = s.totalIPs - s.assignedIPs;
  const warm = cfg.prefixDelegation ? cfg.warmPrefixTarget : cfg.warmEniTarget;
  const unit = cfg.prefixDelegation ? PREFIX_SIZE : limits.maxIpsPerEni;
  return avail < unit * warm || (warm === 0 && avail === 0);
}

export function isPoolTooHigh(s: PoolStats, cfg: WarmConfig): boolean {
  const t = targetState(s, cfg);
  if (t.defined) return t.over > 0;
  if (cfg.prefixDelegation) return s.freePrefixes > cfg.warmPrefixTarget;
  return false; // WARM_ENI_TARGET mode frees whole ENIs only
}

/** How many addresses (SIP) or prefixes (PD) a decrease gives back. */
export function decreaseCount(s: PoolStats, cfg: WarmConfig): number {
  const t = targetState(s, cfg);
  if (t.defined) return t.over;
  return cfg.prefixDelegation ? Math.max(s.freePrefixes - cfg.warmPrefixTarget, 0) : 0;
}

export function shouldRemoveExtraEnis(
  s: PoolStats,
  cfg: WarmConfig,
  limits: PoolLimits,
  enis: readonly EniView[],
): boolean {
  if (targetsDefined(cfg)) return true;
  const avail = s.totalIPs - s.assignedIPs;
  const warm = cfg.prefixDelegation ? cfg.warmPrefixTarget : cfg.warmEniTarget;
  if (avail >= (warm + 1) * limits.maxIpsPerEni) return true;
  if (cfg.prefixDelegation)
    return enis.some((e) => !e.isPrimary && e.assignedIps === 0 && !e.isTrunk && !e.isEfa);
  return false;
}

/** Growth of the pool by one step: addresses on an ENI with room, else a new ENI, else why not. */
export function planIncrease(
  s: PoolStats,
  cfg: WarmConfig,
  limits: PoolLimits,
  enis: readonly EniView[],
  o: { maxPods: number; unmanagedEnis?: number; reserveForTrunk?: boolean; customNetworking?: boolean },
): Increase {
  if (s.totalIPs >= o.maxPods) return { kind: 'none', reason: `max pods reached (${o.maxPods})` };
  const t = targetState(s, cfg);
  const unit = cfg.prefixDelegation ? 'prefix' : 'ip';
  const perEni = cfg.prefixDelegation ? limits.maxPrefixesPerEni : limits.maxIpsPerEni;
  let want: number;
  if (cfg.prefixDelegation)
    want = t.defined ? Math.max(1, t.short) : Math.max(1, cfg.warmPrefixTarget - s.freePrefixes);
  else if (t.defined) want = t.short;
  else want = limits.maxIpsPerEni;
  if (t.defined && t.short === 0 && !cfg.prefixDelegation)
    return { kind: 'none', reason: 'warm IP target met' };
  const candidate = enis.find(
    (e) => !e.isTrunk && !e.excluded && !(o.customNetworking && e.isPrimary) && e.cidrCount < perEni,
  );
  if (candidate)
    return { kind: 'assign', eniId: candidate.id, count: Math.min(perEni - candidate.cidrCount, want), unit };
  const attached = enis.length + (o.unmanagedEnis ?? 0) + (o.reserveForTrunk ? 1 : 0);
  if (attached >= limits.maxEni)
    return {
      kind: 'none',
      reason: `no ENI slots left (${enis.length + (o.unmanagedEnis ?? 0)}/${limits.maxEni} ENIs, all full${
        o.reserveForTrunk ? '; one slot is kept for the trunk ENI of security groups for pods' : ''
      })`,
    };
  return { kind: 'new-eni', resources: Math.min(want, perEni), unit };
}

/**
 * The ENI to free (docs/architecture.md#warm-pool): not primary, old enough, nothing assigned or cooling, not
 * trunk/EFA, and not
 * needed by the warm/minimum/warm-prefix targets given what the other ENIs hold.
 */
export function deletableEni(enis: readonly EniView[], cfg: WarmConfig): string | undefined {
  const round16 = (n: number) => (cfg.prefixDelegation ? Math.ceil(n / PREFIX_SIZE) * PREFIX_SIZE : n);
  for (const e of enis) {
    if (e.isPrimary || e.isTrunk || e.isEfa || e.ageMs < MIN_ENI_AGE_MS) continue;
    if (e.assignedIps > 0 || e.coolingIps > 0) continue;
    const others = enis.filter((o) => o.id !== e.id && !o.excluded);
    if (
      cfg.warmIpTarget > 0 &&
      others.reduce((n, o) => n + o.sizeIps - o.assignedIps, 0) < round16(cfg.warmIpTarget)
    )
      continue;
    if (cfg.minimumIpTarget > 0 && others.reduce((n, o) => n + o.sizeIps, 0) < round16(cfg.minimumIpTarget))
      continue;
    if (
      cfg.prefixDelegation &&
      cfg.warmPrefixTarget > 0 &&
      others.reduce((n, o) => n + o.unassignedCidrs, 0) < cfg.warmPrefixTarget
    )
      continue;
    return e.id;
  }
  return undefined;
}
