// Where new ENIs go (docs/architecture.md#subnet-discovery). With discovery on, the subnets of the node's VPC
// and AZ are listed (one DescribeSubnets, cached; refreshed on a timer and when a subnet runs out, never per
// pod) and the valid ones are tried most-free-first. Tag `kubernetes.io/role/cni`: `0` excludes a subnet (the
// node's own too), any other value includes it; untagged subnets are used only if they are the node's own.
// Cluster scoping: if a subnet has `cni.networking.k8s.aws/cluster/*` tags, one must name this cluster.
import { DescribeSubnetsCommand, type EC2Client, type Subnet } from '@aws-sdk/client-ec2';
import { type CallObserver, ec2Call } from './ec2-call.js';

export const ROLE_TAG = 'kubernetes.io/role/cni';
export const CLUSTER_TAG_PREFIX = 'cni.networking.k8s.aws/cluster/';
export const NO_VALID_SUBNETS =
  'no valid subnets available for ENI creation - all subnets are either not tagged or tagged with kubernetes.io/role/cni=0';

export interface SubnetInfo {
  id: string;
  cidr: string;
  free: number;
  tags: Map<string, string>;
}

const clusterOk = (tags: Map<string, string>, cluster: string | undefined): boolean => {
  if (!cluster) return true;
  const scoped = [...tags.keys()].filter((k) => k.startsWith(CLUSTER_TAG_PREFIX));
  return scoped.length === 0 || scoped.includes(CLUSTER_TAG_PREFIX + cluster);
};

/** May a new ENI be created in this subnet? */
export function validForEni(s: SubnetInfo, primarySubnetId: string, cluster?: string): boolean {
  const role = s.tags.get(ROLE_TAG);
  if (role === '0') return false;
  if (!role) return s.id === primarySubnetId;
  return clusterOk(s.tags, cluster);
}

/** Are pod addresses from an ENI in this subnet forbidden? (docs/architecture.md#subnet-discovery) */
export function excludedForPods(s: SubnetInfo | undefined, cluster?: string): boolean {
  if (!s) return false;
  const role = s.tags.get(ROLE_TAG);
  if (!role) return false;
  if (role === '0') return true;
  return !clusterOk(s.tags, cluster);
}

const info = (s: Subnet): SubnetInfo => ({
  id: s.SubnetId ?? '',
  cidr: s.CidrBlock ?? '',
  free: s.AvailableIpAddressCount ?? 0,
  tags: new Map((s.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
});

export interface SubnetCatalogOptions {
  primarySubnetId: string;
  discovery: boolean;
  vpcId?: string | undefined;
  az?: string | undefined;
  clusterName?: string | undefined;
  refreshMs?: number;
  now?: () => number;
  onCall?: CallObserver | undefined;
}

export class SubnetCatalog {
  private listing: Promise<SubnetInfo[]> | undefined;
  private listedAt = 0;
  private readonly now: () => number;

  constructor(
    private readonly ec2: EC2Client,
    private readonly o: SubnetCatalogOptions,
  ) {
    this.now = o.now ?? Date.now;
  }

  /** Subnets of the node's VPC and AZ (discovery on) or just the node's own (off); cached. */
  list(): Promise<SubnetInfo[]> {
    if (this.listing && this.now() - this.listedAt < (this.o.refreshMs ?? 5 * 60_000)) return this.listing;
    this.listedAt = this.now();
    const input =
      this.o.discovery && this.o.vpcId && this.o.az
        ? {
            Filters: [
              { Name: 'vpc-id', Values: [this.o.vpcId] },
              { Name: 'availability-zone', Values: [this.o.az] },
            ],
          }
        : { SubnetIds: [this.o.primarySubnetId] };
    const p = ec2Call('DescribeSubnets', () => this.ec2.send(new DescribeSubnetsCommand(input)), this.o).then(
      (r) => (r.Subnets ?? []).map(info),
    );
    this.listing = p;
    p.catch(() => (this.listing = undefined));
    return p;
  }

  /** Forget the listing (a subnet ran out: its free count is stale). */
  invalidate(): void {
    this.listing = undefined;
  }

  /** Subnets to try for a new ENI, most free addresses first. */
  async candidates(): Promise<SubnetInfo[]> {
    const all = await this.list();
    const valid = this.o.discovery
      ? all.filter((s) => validForEni(s, this.o.primarySubnetId, this.o.clusterName))
      : all.filter((s) => s.id === this.o.primarySubnetId && !excludedForPods(s, this.o.clusterName));
    return valid
      .map((s, i) => ({ s, i }))
      .sort((a, b) => b.s.free - a.s.free || a.i - b.i)
      .map((x) => x.s);
  }

  async get(subnetId: string): Promise<SubnetInfo | undefined> {
    return (await this.list()).find((s) => s.id === subnetId);
  }

  async isExcluded(subnetId: string): Promise<boolean> {
    return excludedForPods(await this.get(subnetId), this.o.clusterName);
  }
}
