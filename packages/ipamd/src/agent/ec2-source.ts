// The production ENI source (docs/architecture.md#start-up, #imds): node facts from IMDS, attached ENIs and
// their addresses from EC2 (what EC2 says is assigned is the truth; IMDS may lag), then the EC2-backed
// supply. Adopted secondary ENIs get their host plumbing here; the pool manager (grow/shrink/reconcile/leak
// sweep) is built here and started by the agent once it serves. IPv6 mode: ipv6-source.ts (card 0) and
// ipv6-cards.ts (cards > 0).
import {
  DescribeInstanceTypesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import type { IpamdConfig } from '@vpc-cni/shared/config';
import { instanceLimits, maxPodsFor } from '@vpc-cni/shared/limits';
import type { Logger } from '@vpc-cni/shared/logging';
import {
  Ec2Supply,
  type EniConfigSource,
  PoolState,
  type PoolObserver,
  unmanagedReason,
  type EniPlumbing,
  type EniTargetResolver,
  PoolManager,
  SubnetCatalog,
  customNetworkingTarget,
} from '../eni/index.js';
import { ImdsClient, type NodeFacts, readAttachedEnis, readNodeFacts } from '../imds/index.js';
import { ipv6Source } from './ipv6-source.js';
import { ipv6CardPools } from './ipv6-cards.js';
import type { CardDecision } from '../cards/index.js';
import { type CardPool, buildCardPools, cardDecisions } from './card-pools.js';
import type { Datastore } from '../store/index.js';
import { isPoolTooLow, poolLimits, type WarmConfig } from '../warm/index.js';
import { type AddressSupply, noSupply } from '../service/supply.js';
import type { FreeEniOptions } from '../eni/free-eni.js';
import type { Mutex } from '../eni/mutex.js';
import { imdsUnreachable } from '@vpc-cni/shared/startup';
import { VERSION } from '@vpc-cni/shared/version';

export interface Ec2Source {
  supply: AddressSupply;
  primary: { mac: string; primaryIp: string; vpcCidrs: string[]; ipv6?: string; vpcV6?: string[] };
  maxPods: number;
  manager: PoolManager;
  /** IPv6 mode: no pool loop (docs/architecture.md#ipv6-mode). */
  ipv6Only?: boolean;
  /** Re-read the VPC CIDRs (the 30 s watcher). */
  readVpcCidrs: () => Promise<string[]>;
  facts: NodeFacts;
  /** The MAC of an ENI the pool knows (the trunk's, for branch-ENI pods). */
  eniMac: (id: string) => string | undefined;
  /** What self-managed branch ENIs need (IPv4 mode). */
  branchContext?: BranchContext;
  /** ENIs and addresses this node can hold for pods (awscni_eni_max / awscni_ip_max). */
  capacity: { enis: number; ips: number };
  /** Managed network cards > 0 (ENABLE_MULTI_NIC), each with its own pool. */
  cardPools: CardPool[];
  /** Every card of the instance type, managed or not, with the reason. */
  cardDecisions: CardDecision[];
}

export interface BranchContext {
  ec2: EC2Client;
  poolLock: Mutex;
  /** Branch ENIs per trunk (0 = the type cannot trunk). */
  branchLimit: number;
  maxEnis: number;
  /** Custom networking: where the trunk goes (the ENIConfig subnet and groups); else the primary's. */
  trunkTarget?: EniTargetResolver;
}

async function attachedEnis(ec2: EC2Client, instanceId: string): Promise<NetworkInterface[]> {
  const out: NetworkInterface[] = [];
  let token: string | undefined;
  do {
    const r = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }],
        MaxResults: 1000,
        NextToken: token,
      }),
    );
    out.push(...(r.NetworkInterfaces ?? []));
    token = r.NextToken;
  } while (token);
  return out;
}

export type AwsCallObserver = (api: string, outcome: string, ms: number, status: number) => void;

/** Every EC2 call (all retries included) reported once with its outcome: 'ok' or the error code. */
function observeCalls(ec2: EC2Client, observe: AwsCallObserver): void {
  ec2.middlewareStack.add(
    (next, context) => async (args) => {
      const api = String(context.commandName ?? 'unknown').replace(/Command$/, '');
      const t0 = performance.now();
      try {
        const r = await next(args);
        const status = (r.response as { statusCode?: number }).statusCode ?? 200;
        observe(api, 'ok', performance.now() - t0, status);
        return r;
      } catch (e) {
        const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
        observe(api, err.name ?? 'error', performance.now() - t0, err.$metadata?.httpStatusCode ?? 0);
        throw e;
      }
    },
    { step: 'initialize', name: 'vpcCniCallMetrics' },
  );
}

async function subnetCidrs(ec2: EC2Client, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const r = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...new Set(ids)] }));
  return new Map((r.Subnets ?? []).map((s) => [s.SubnetId ?? '', s.CidrBlock ?? '']));
}

export async function loadFromEc2(
  cfg: IpamdConfig,
  ds: Datastore,
  logger: Logger,
  plumbing: EniPlumbing,
  o: {
    /** Custom networking: where this node's ENIConfig comes from. */
    eniConfig?: EniConfigSource | undefined;
    onAwsCall?: AwsCallObserver;
    observer?: PoolObserver;
    freeEni?: FreeEniOptions | undefined;
  } = {},
): Promise<Ec2Source> {
  const imds = new ImdsClient({ endpoint: cfg.AWS_EC2_METADATA_SERVICE_ENDPOINT });
  const facts = await readNodeFacts(imds).catch((e: unknown) => {
    throw imdsUnreachable(cfg.AWS_EC2_METADATA_SERVICE_ENDPOINT, e);
  });
  const ec2 = new EC2Client({
    region: facts.region,
    ...(cfg.AWS_EC2_ENDPOINT ? { endpoint: cfg.AWS_EC2_ENDPOINT } : {}),
    maxAttempts: 10,
    retryMode: 'adaptive',
    // HTTP_TIMEOUT bounds each HTTP attempt (a hung call is retried, not waited on forever).
    requestHandler: {
      requestTimeout: cfg.HTTP_TIMEOUT * 1000,
      connectionTimeout: cfg.HTTP_TIMEOUT * 1000,
      throwOnRequestTimeout: true,
    },
    // Upstream's User-Agent suffix: amazon-vpc-cni-k8s/<VPC_CNI_VERSION>.
    customUserAgent: `amazon-vpc-cni-k8s/${cfg.VPC_CNI_VERSION || VERSION}`,
  });
  const onAwsCall = o.onAwsCall;
  if (onAwsCall) observeCalls(ec2, onAwsCall);
  let limits = instanceLimits(facts.instanceType);
  let typeLimits = limits ? { enis: limits.enis, ipv4PerEni: limits.ipv4PerEni } : undefined;
  if (!typeLimits) {
    const t = await ec2.send(
      new DescribeInstanceTypesCommand({ InstanceTypes: [facts.instanceType as never] }),
    );
    const n = t.InstanceTypes?.[0]?.NetworkInfo;
    if (!n?.MaximumNetworkInterfaces || !n.Ipv4AddressesPerInterface)
      throw new Error(
        `instance type ${facts.instanceType}: no limits in our table nor from DescribeInstanceTypes`,
      );
    typeLimits = { enis: n.MaximumNetworkInterfaces, ipv4PerEni: n.Ipv4AddressesPerInterface };
    limits = undefined;
  }
  const customNetworking = cfg.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG && !cfg.ENABLE_IPv6;
  const state = new PoolState();
  const ledger = state.ledger;
  const unmanaged = new Set<string>();
  const catalog = new SubnetCatalog(ec2, {
    primarySubnetId: facts.subnetId,
    discovery: cfg.ENABLE_SUBNET_DISCOVERY && !cfg.ENABLE_IPv6,
    vpcId: facts.vpcId,
    az: facts.az,
    clusterName: cfg.CLUSTER_NAME || undefined,
  });
  const enis = await attachedEnis(ec2, facts.instanceId);
  const cidrs = await subnetCidrs(
    ec2,
    enis.map((e) => e.SubnetId ?? '').filter((x) => x),
  );
  const rules = { primaryEniId: facts.primaryEniId, manageUntagged: cfg.MANAGE_UNTAGGED_ENI };
  let unmanagedOnCard0 = 0;
  for (const eni of enis) {
    const id = eni.NetworkInterfaceId as string;
    const why = unmanagedReason(eni, rules);
    if (why) {
      logger.info({ eni: id, why }, 'ENI left alone: not used for pods, never freed');
      unmanaged.add(id);
      if ((eni.Attachment?.NetworkCardIndex ?? 0) === 0) unmanagedOnCard0++;
      continue;
    }
    const primary = id === facts.primaryEniId;
    const device = eni.Attachment?.DeviceIndex ?? 0;
    const host = {
      id,
      mac: (eni.MacAddress ?? '').toLowerCase(),
      primaryIp: eni.PrivateIpAddress ?? '',
      subnetCidr: cidrs.get(eni.SubnetId ?? '') ?? '',
      deviceNumber: device,
      table: primary ? 254 : device + 1,
    };
    // A restart re-plumbs every adopted ENI (idempotent).
    if (!primary) await plumbing.up({ ...host, isTrunk: eni.InterfaceType === 'trunk' });
    ds.addEni({
      id,
      deviceNumber: device,
      isPrimary: primary,
      // A trunk (security groups for pods) is never grown, freed or given a rule
      // (docs/architecture.md#security-groups-for-pods).
      isTrunk: eni.InterfaceType === 'trunk',
      routeTableId: host.table,
      subnetId: eni.SubnetId,
      subnetCidr: host.subnetCidr,
    });
    ledger.record(id, { mac: host.mac, primaryIp: host.primaryIp });
    // Subnet discovery: an ENI in a subnet tagged kubernetes.io/role/cni=0 gives no pod addresses
    // (docs/architecture.md#subnet-discovery).
    if (cfg.ENABLE_SUBNET_DISCOVERY && !cfg.ENABLE_IPv6 && (await catalog.isExcluded(eni.SubnetId ?? ''))) {
      ds.setExcluded(id, true);
      logger.info({ eni: id, subnet: eni.SubnetId }, 'ENI subnet excluded from pod addresses (role/cni=0)');
    }
    for (const a of eni.PrivateIpAddresses ?? [])
      if (!a.Primary && a.PrivateIpAddress) ds.addCidr(id, `${a.PrivateIpAddress}/32`, false);
    // Custom networking: the primary ENI's prefixes are not pod addresses (its older secondary IPs still are,
    // as upstream).
    const skipPrefixes = primary && customNetworking;
    if (!skipPrefixes)
      for (const p of eni.Ipv4Prefixes ?? []) if (p.Ipv4Prefix) ds.addCidr(id, p.Ipv4Prefix, true);
    // IPv6 mode uses exactly one /80 per ENI (docs/architecture.md#ipv6-mode): the first, if any; ipv6Source
    // adds one when missing.
    const v6 = eni.Ipv6Prefixes?.[0]?.Ipv6Prefix;
    if (v6 && cfg.ENABLE_IPv6) ds.addCidr(id, v6, true);
  }
  const decisions = cardDecisions(cfg, limits, enis, rules);
  for (const c of decisions)
    if (c.index !== 0) logger.info({ card: c.index, managed: c.managed, why: c.why }, 'network card');
  if (cfg.ENABLE_IPv6)
    return {
      ...(await ipv6Source(cfg, ds, ec2, imds, facts, enis, state, plumbing, logger)),
      // every managed card > 0 gets its ENI and /80 (docs/architecture.md#ipv6-mode)
      cardPools: await ipv6CardPools(
        { cfg, ec2, limits, enis, facts, rules, plumbing, observer: o.observer, logger },
        decisions.filter((c) => c.managed).map((c) => c.index),
      ),
      cardDecisions: decisions,
      capacity: {
        enis: typeLimits.enis - unmanagedOnCard0,
        ips: (typeLimits.ipv4PerEni - 1) * (typeLimits.enis - unmanagedOnCard0),
      },
    };
  const warm: WarmConfig = {
    warmEniTarget: cfg.WARM_ENI_TARGET,
    warmIpTarget: cfg.WARM_IP_TARGET,
    minimumIpTarget: cfg.MINIMUM_IP_TARGET,
    warmPrefixTarget: cfg.WARM_PREFIX_TARGET,
    maxEni: cfg.MAX_ENI ?? 0,
    prefixDelegation: cfg.ENABLE_PREFIX_DELEGATION,
  };
  const pl = poolLimits(typeLimits, warm);
  const maxPods = limits
    ? maxPodsFor(limits, {
        prefixDelegation: cfg.ENABLE_PREFIX_DELEGATION,
        maxEni: cfg.MAX_ENI,
      })
    : 110;
  // Custom networking: new ENIs (and a self-managed trunk) go to this node's ENIConfig subnet with its groups.
  if (customNetworking && !o.eniConfig) throw new Error('custom networking needs an ENIConfig source');
  const cnTarget =
    customNetworking && o.eniConfig
      ? customNetworkingTarget(ec2, o.eniConfig, facts.securityGroups)
      : undefined;
  const supply = new Ec2Supply(ec2, ds, {
    instanceId: facts.instanceId,
    subnetId: facts.subnetId,
    securityGroups: facts.securityGroups,
    limits: pl,
    warm,
    maxPods,
    clusterName: cfg.CLUSTER_NAME || undefined,
    extraTags: cfg.ADDITIONAL_ENI_TAGS,
    ...(o.observer ? { observer: o.observer } : {}),
    logger,
    state,
    plumbing,
    catalog,
    ...(cnTarget ? { customNetworking: true, target: cnTarget } : {}),
    // Security groups for pods on a type that can trunk: one slot stays free until a trunk is attached.
    ...(cfg.ENABLE_POD_ENI && limits?.trunking
      ? { reserveTrunkSlot: () => !ds.eniList().some((e) => e.isTrunk) }
      : {}),
  });
  const manager = new PoolManager({
    ec2,
    ds,
    supply,
    state,
    warm,
    limits: pl,
    maxPods,
    instanceId: facts.instanceId,
    vpcId: facts.vpcId,
    clusterName: cfg.CLUSTER_NAME || undefined,
    plumbing,
    readImds: async () => (await readAttachedEnis(imds, facts.primaryMac)).filter((e) => e.networkCard === 0),
    unmanaged,
    provisioning: !cfg.DISABLE_NETWORK_RESOURCE_PROVISIONING,
    leakedEniCleanup: !cfg.DISABLE_LEAKED_ENI_CLEANUP,
    rules,
    ...(o.observer ? { observer: o.observer } : {}),
    ...(o.freeEni ? { freeEni: o.freeEni } : {}),
    logger,
  });
  // Pre-scaling: fill the warm pool before the first pod asks (docs/architecture.md#start-up).
  if (!cfg.DISABLE_NETWORK_RESOURCE_PROVISIONING && isPoolTooLow(ds.stats(), warm, pl, maxPods))
    await supply.grow(0).catch((err: unknown) => logger.warn({ err }, 'pre-scaling the pool failed'));
  const cardPools = await buildCardPools(
    {
      cfg,
      ec2,
      limits,
      enis,
      subnetCidrs: cidrs,
      facts,
      rules,
      warm,
      maxPods,
      plumbing,
      catalog,
      target: cnTarget,
      readImds: () => readAttachedEnis(imds, facts.primaryMac),
      observer: o.observer,
      logger,
    },
    decisions.filter((c) => c.managed).map((c) => c.index),
  );
  logger.info(
    {
      instance: facts.instanceId,
      type: facts.instanceType,
      enis: ds.eniList().length,
      stats: ds.stats(),
      maxPods,
    },
    'node ENIs loaded from EC2',
  );
  return {
    // DISABLE_NETWORK_RESOURCE_PROVISIONING: the addresses already on the ENIs are all there is.
    supply: cfg.DISABLE_NETWORK_RESOURCE_PROVISIONING
      ? noSupply(
          'network resource provisioning is disabled on this node (DISABLE_NETWORK_RESOURCE_PROVISIONING)',
        )
      : supply,
    primary: { mac: facts.primaryMac, primaryIp: facts.localIpv4, vpcCidrs: facts.vpcIpv4Cidrs },
    maxPods,
    manager,
    facts,
    cardPools,
    cardDecisions: decisions,
    capacity: { enis: pl.maxEni - unmanagedOnCard0, ips: pl.maxIpsPerEni * (pl.maxEni - unmanagedOnCard0) },
    readVpcCidrs: () =>
      imds.list(`meta-data/network/interfaces/macs/${facts.primaryMac}/vpc-ipv4-cidr-blocks`),
    eniMac: (id) => ledger.get(id)?.mac,
    branchContext: {
      ec2,
      poolLock: state.lock,
      ...(cnTarget ? { trunkTarget: cnTarget } : {}),
      branchLimit: limits?.trunking ? limits.branchEnis : 0,
      maxEnis: typeLimits.enis,
    },
  };
}
