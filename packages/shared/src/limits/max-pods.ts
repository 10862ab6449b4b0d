// Max pods per node for the VPC CNI, as EKS computes it.
//  - secondary-IP mode: enis * (ipv4PerEni - 1) + 2   (each ENI's primary IP is not for pods; +2 host-network pods)
//  - prefix delegation: enis * (ipv4PerEni - 1) * 16 + 2, capped (EKS recommends 110 below 30 vCPUs, else 250)
//  - custom networking: the primary ENI carries no pod addresses, so one ENI fewer
import type { InstanceLimits } from './instance-limits.js';

export interface MaxPodsOptions {
  readonly prefixDelegation?: boolean;
  readonly customNetworking?: boolean;
  /** MAX_ENI: only an integer >= 1 counts, and never above the instance limit. */
  readonly maxEni?: number;
  /** Cap applied in prefix-delegation mode (kubelet's practical limit). Default 110. */
  readonly prefixDelegationCap?: number;
}

export const HOST_NETWORK_PODS = 2;
export const IPV4_PER_PREFIX = 16;

export function maxPodsFor(limits: InstanceLimits, opts: MaxPodsOptions = {}): number {
  let enis = limits.enis;
  if (opts.maxEni !== undefined && Number.isInteger(opts.maxEni) && opts.maxEni >= 1) {
    enis = Math.min(enis, opts.maxEni);
  }
  if (opts.customNetworking) enis = Math.max(0, enis - 1);
  const slotsPerEni = limits.ipv4PerEni - 1;
  if (opts.prefixDelegation) {
    const raw = enis * slotsPerEni * IPV4_PER_PREFIX + HOST_NETWORK_PODS;
    return Math.min(raw, opts.prefixDelegationCap ?? 110);
  }
  return enis * slotsPerEni + HOST_NETWORK_PODS;
}
