// Typed access to the EC2 instance networking table (data/instance-limits.json, from upstream's limits table).
import table from '../../data/instance-limits.json' with { type: 'json' };

export interface NetworkCard {
  readonly index: number;
  readonly maxEnis: number;
}

export interface InstanceLimits {
  /** ENIs attachable on the default network card. */
  readonly enis: number;
  /** IPv4 addresses per ENI, counting the ENI's primary address. */
  readonly ipv4PerEni: number;
  readonly defaultNetworkCardIndex: number;
  readonly networkCards: readonly NetworkCard[];
  readonly hypervisor: 'nitro' | 'xen' | 'unknown';
  readonly bareMetal: boolean;
  /** Can run a trunk ENI (security groups for pods). */
  readonly trunking: boolean;
  /** Most branch (VLAN) ENIs behind the trunk. */
  readonly branchEnis: number;
}

const limits = table as Record<string, InstanceLimits>;

/** Limits for an instance type, or undefined when the type is not in our table (ask EC2 DescribeInstanceTypes). */
export function instanceLimits(instanceType: string): InstanceLimits | undefined {
  return Object.hasOwn(limits, instanceType) ? limits[instanceType] : undefined;
}

export function knownInstanceTypes(): string[] {
  return Object.keys(limits);
}
