// Where the node's ENIs come from, by mode: VPC_CNI_STATIC_ENIS (tests, demo), ENABLE_IMDS_ONLY_MODE (the ENIs
// and addresses IMDS lists, no EC2 call at all), or IMDS + EC2 with the pool manager (ec2-source.ts).
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { Logger } from '@vpc-cni/shared/logging';
import { imdsUnreachable } from '@vpc-cni/shared/startup';
import type {
  EniConfigSource,
  EniPlumbing,
  FreeEniOptions,
  PoolManager,
  PoolObserver,
} from '../eni/index.js';
import { ImdsClient, type NodeFacts, readAttachedEnis, readNodeFacts } from '../imds/index.js';
import { MemorySupply } from '../service/memory-supply.js';
import { type AddressSupply, noSupply } from '../service/supply.js';
import type { Datastore } from '../store/index.js';
import type { AwsCallObserver, BranchContext } from './ec2-source.js';
import type { CardDecision } from '../cards/index.js';
import type { CardPool } from './card-pools.js';
import { imdsCardPools } from './imds-cards.js';
import { loadStaticEnis, parseStaticEnis, staticPrimary } from './static-enis.js';

export interface EniSource {
  supply: AddressSupply;
  primary: { mac: string; primaryIp: string; vpcCidrs: string[]; vpcV6?: string[] } | undefined;
  manager?: PoolManager;
  ipv6Only?: boolean;
  readVpcCidrs?: () => Promise<string[]>;
  eniMac?: (id: string) => string | undefined;
  branchContext?: BranchContext;
  facts?: NodeFacts;
  /** ENIs and addresses this node can hold for pods (awscni_eni_max / awscni_ip_max), when known. */
  capacity?: { enis: number; ips: number };
  /** Managed network cards > 0 with their pools (EC2 mode with ENABLE_MULTI_NIC). */
  cardPools?: CardPool[];
  /** Every card of the instance type, managed or not, with the reason (EC2 mode). */
  cardDecisions?: CardDecision[];
}

export interface LoadEnisDeps {
  cfg: IpamdConfig;
  ds: Datastore;
  logger: Logger;
  plumbing: EniPlumbing;
  eniConfig?: EniConfigSource | undefined;
  onAwsCall: AwsCallObserver;
  observer: PoolObserver;
  freeEni?: FreeEniOptions | undefined;
}

const IMDS_ONLY_NO_SUPPLY =
  'ENABLE_IMDS_ONLY_MODE: ipamd makes no EC2 call, so it cannot add addresses; attach ENIs with enough addresses to the instance';

/**
 * ENABLE_IMDS_ONLY_MODE: the pool is what IMDS lists on network card 0 (and, with ENABLE_MULTI_NIC, on the other
 * cards: imds-cards.ts); nothing is asked of EC2.
 */
async function loadFromImds(d: LoadEnisDeps): Promise<EniSource> {
  const { cfg, ds, logger, plumbing } = d;
  const imds = new ImdsClient({ endpoint: cfg.AWS_EC2_METADATA_SERVICE_ENDPOINT });
  const read = async () => {
    const facts = await readNodeFacts(imds);
    return { facts, enis: await readAttachedEnis(imds, facts.primaryMac) };
  };
  const { facts, enis } = await read().catch((e: unknown) => {
    throw imdsUnreachable(cfg.AWS_EC2_METADATA_SERVICE_ENDPOINT, e);
  });
  for (const e of enis) {
    if (e.networkCard !== 0) continue;
    const primary = e.eniId === facts.primaryEniId;
    const table = primary ? 254 : e.deviceNumber + 1;
    if (!primary)
      await plumbing.up({
        id: e.eniId,
        mac: e.mac,
        primaryIp: e.primaryIp ?? '',
        subnetCidr: e.subnetCidr ?? '',
        deviceNumber: e.deviceNumber,
        table,
      });
    ds.addEni({
      id: e.eniId,
      deviceNumber: e.deviceNumber,
      isPrimary: primary,
      routeTableId: table,
      subnetId: e.subnetId,
      ...(e.subnetCidr ? { subnetCidr: e.subnetCidr } : {}),
    });
    for (const ip of e.secondaryIps) ds.addCidr(e.eniId, `${ip}/32`, false);
    if (!(primary && cfg.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG))
      for (const p of e.ipv4Prefixes) ds.addCidr(e.eniId, p, true);
  }
  logger.info({ enis: ds.eniList().length, stats: ds.stats() }, 'ENIs loaded from IMDS (IMDS-only mode)');
  const cards = await imdsCardPools(cfg, enis, facts.instanceType, plumbing, logger);
  return {
    cardPools: cards.pools,
    cardDecisions: cards.decisions,
    supply: noSupply(IMDS_ONLY_NO_SUPPLY),
    primary: { mac: facts.primaryMac, primaryIp: facts.localIpv4, vpcCidrs: facts.vpcIpv4Cidrs },
    facts,
    readVpcCidrs: () =>
      imds.list(`meta-data/network/interfaces/macs/${facts.primaryMac}/vpc-ipv4-cidr-blocks`),
  };
}

export async function loadEnis(d: LoadEnisDeps): Promise<EniSource> {
  const { cfg, ds, logger } = d;
  if (cfg.VPC_CNI_STATIC_ENIS) {
    const enis = parseStaticEnis(cfg.VPC_CNI_STATIC_ENIS);
    const reserve = loadStaticEnis(ds, enis);
    logger.info({ enis: ds.eniList().length, stats: ds.stats() }, 'ENIs loaded from VPC_CNI_STATIC_ENIS');
    const supply =
      cfg.DISABLE_NETWORK_RESOURCE_PROVISIONING || cfg.ENABLE_IMDS_ONLY_MODE
        ? noSupply()
        : new MemorySupply(ds, { reserve, batch: 1 });
    return { supply, primary: staticPrimary(enis) };
  }
  if (cfg.ENABLE_IMDS_ONLY_MODE) return loadFromImds(d);
  const { loadFromEc2 } = await import('./ec2-source.js');
  return loadFromEc2(cfg, ds, logger, d.plumbing, {
    eniConfig: d.eniConfig,
    onAwsCall: d.onAwsCall,
    observer: d.observer,
    freeEni: d.freeEni,
  });
}
