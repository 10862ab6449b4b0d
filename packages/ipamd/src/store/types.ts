// The datastore's vocabulary (docs/architecture.md#datastore): allocation keys, pod metadata, ENIs and their
// CIDRs.
import type { Cidr, Family } from '@vpc-cni/shared/ipmath';

/** Upstream's IPAMKey: one pod interface of one network. */
export interface IpamKey {
  networkName: string;
  containerID: string;
  ifName: string;
}

export interface PodMetadata {
  k8sPodNamespace: string;
  k8sPodName: string;
  interfacesCount: number;
}

/** An assigned address as the checkpoint stores it. */
export interface Allocation {
  key: IpamKey;
  address: string;
  family: Family;
  metadata: PodMetadata;
  /** Unix nanoseconds of assignment (upstream's allocationTimestamp). */
  assignedAtNs: bigint;
}

export interface AddressEntry {
  address: string;
  /** Set while assigned. */
  key?: IpamKey;
  metadata?: PodMetadata;
  assignedAtNs?: bigint;
  /** Milliseconds (store clock) of the last release; the address cools down from here. */
  unassignedAtMs?: number;
}

export interface CidrEntry {
  text: string;
  cidr: Cidr;
  isPrefix: boolean;
  /** Only addresses used at least once (assigned, or released and remembered for cooldown). */
  addresses: Map<string, AddressEntry>;
}

export interface EniSpec {
  id: string;
  deviceNumber: number;
  isPrimary?: boolean;
  isTrunk?: boolean;
  isEfa?: boolean;
  /**
   * Route table of the ENI's pods: 254 (main) for the primary, deviceNumber + 1 otherwise
   * (docs/architecture.md#route-tables-and-rule-priorities).
   */
  routeTableId: number;
  subnetId?: string;
  subnetCidr?: string;
  /** Custom networking / no_manage: no pod addresses from this ENI. */
  excludedForPods?: boolean;
}

export interface EniEntry extends Required<Omit<EniSpec, 'subnetCidr'>> {
  subnetCidr?: string;
  cidrs: Map<string, CidrEntry>;
}

export interface Assigned {
  address: string;
  family: Family;
  eniId: string;
  deviceNumber: number;
  routeTableId: number;
}

export interface Released extends Assigned {
  key: IpamKey;
  metadata: PodMetadata;
  assignedAtNs: bigint;
}

export const keyString = (k: IpamKey): string => `${k.networkName}\u0000${k.containerID}\u0000${k.ifName}`;

/** Upstream's key for allocations migrated from CRI-era checkpoints. */
export const legacyKey = (k: IpamKey): IpamKey => ({
  networkName: '_migrated-from-cri',
  containerID: k.containerID,
  ifName: 'unknown',
});
