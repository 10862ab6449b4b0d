// Inputs of the warm-pool arithmetic (docs/architecture.md#warm-pool): targets, limits, and what the
// datastore holds.
import type { IpStats } from '../store/address-rules.js';

export interface WarmConfig {
  warmEniTarget: number;
  warmIpTarget: number;
  minimumIpTarget: number;
  warmPrefixTarget: number;
  /** MAX_ENI; 0 or less = unset. */
  maxEni: number;
  prefixDelegation: boolean;
}

export interface PoolLimits {
  maxEni: number;
  /** Pod addresses an ENI can hold: ipv4PerEni − 1 (SIP) or maxPrefixesPerEni × 16 (PD). */
  maxIpsPerEni: number;
  /** /28 prefixes per ENI in PD (ipv4PerEni − 1), 0 in SIP. */
  maxPrefixesPerEni: number;
}

/**
 * Datastore numbers in the active mode (cooling addresses count as available): the datastore's own stats type,
 * narrowed to what the arithmetic reads (one type for one concept, no conversion).
 */
export type PoolStats = Pick<IpStats, 'totalIPs' | 'assignedIPs' | 'totalPrefixes' | 'freePrefixes'>;

export interface EniView {
  id: string;
  isPrimary: boolean;
  isTrunk: boolean;
  isEfa: boolean;
  excluded: boolean;
  /** Milliseconds since the ENI entered the datastore. */
  ageMs: number;
  /** CIDRs of any kind on the ENI (what "room" is measured against). */
  cidrCount: number;
  /** Addresses of active-mode CIDRs, and how many are assigned / cooling. */
  sizeIps: number;
  assignedIps: number;
  coolingIps: number;
  /** CIDRs with no assigned address. */
  unassignedCidrs: number;
}

export type Increase =
  | { kind: 'assign'; eniId: string; count: number; unit: 'ip' | 'prefix' }
  | { kind: 'new-eni'; resources: number; unit: 'ip' | 'prefix' }
  | { kind: 'none'; reason: string };
