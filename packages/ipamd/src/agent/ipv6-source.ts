// IPv6 mode's ENI source (docs/architecture.md#ipv6-mode): the primary ENI's one /80 prefix is the whole
// pool.
import { AssignIpv6AddressesCommand, type EC2Client, type NetworkInterface } from '@aws-sdk/client-ec2';
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { Logger } from '@vpc-cni/shared/logging';
import { Ec2Supply, type EniPlumbing, PoolManager, type PoolState } from '../eni/index.js';
import { type ImdsClient, type NodeFacts, readAttachedEnis } from '../imds/index.js';
import type { Datastore } from '../store/index.js';
import { noSupply } from '../service/supply.js';
import type { Ec2Source } from './ec2-source.js';

/** IPv6 mode has no warm pool and never grows. */
const NO_POOL = {
  warmEniTarget: 0,
  warmIpTarget: 0,
  minimumIpTarget: 0,
  warmPrefixTarget: 0,
  maxEni: 0,
  prefixDelegation: true,
};
const NO_LIMITS = { maxEni: 0, maxIpsPerEni: 0, maxPrefixesPerEni: 0 };

/**
 * IPv6 mode (docs/architecture.md#ipv6-mode): the primary ENI gets one /80 prefix if it has none, pods take
 * addresses from it; no warm
 * pool, growth, shrink or reconcile. The supply never grows: a /80 does not run out.
 */
export async function ipv6Source(
  cfg: IpamdConfig,
  ds: Datastore,
  ec2: EC2Client,
  imds: ImdsClient,
  facts: NodeFacts,
  enis: NetworkInterface[],
  state: PoolState,
  plumbing: EniPlumbing,
  logger: Logger,
): Promise<Omit<Ec2Source, 'capacity' | 'cardPools' | 'cardDecisions'>> {
  const primary = enis.find((e) => e.NetworkInterfaceId === facts.primaryEniId);
  if (!primary?.Ipv6Prefixes?.length) {
    const r = await ec2.send(
      new AssignIpv6AddressesCommand({ NetworkInterfaceId: facts.primaryEniId, Ipv6PrefixCount: 1 }),
    );
    const prefix = r.AssignedIpv6Prefixes?.[0];
    if (!prefix) throw new Error(`AssignIpv6Addresses gave ${facts.primaryEniId} no /80 prefix`);
    ds.addCidr(facts.primaryEniId, prefix, true);
    logger.info({ eni: facts.primaryEniId, prefix }, 'assigned the IPv6 /80 prefix for pods');
  }
  const mac = `meta-data/network/interfaces/macs/${facts.primaryMac}`;
  const vpcV6 = await imds.list(`${mac}/vpc-ipv6-cidr-blocks`);
  const localIpv6 = (await imds.get('meta-data/ipv6')) ?? '';
  const manager = new PoolManager({
    ec2,
    ds,
    supply: new Ec2Supply(ec2, ds, {
      instanceId: facts.instanceId,
      subnetId: facts.subnetId,
      securityGroups: facts.securityGroups,
      limits: NO_LIMITS,
      warm: NO_POOL,
      maxPods: 0,
      logger,
      state,
      plumbing,
    }),
    state,
    warm: NO_POOL,
    limits: NO_LIMITS,
    maxPods: 0,
    instanceId: facts.instanceId,
    vpcId: facts.vpcId,
    plumbing,
    readImds: () => readAttachedEnis(imds, facts.primaryMac),
    provisioning: false,
    leakedEniCleanup: false,
    logger,
  });
  logger.info(
    { instance: facts.instanceId, stats: ds.stats(), vpcV6 },
    'IPv6 mode: pods use the primary ENI /80',
  );
  return {
    supply: noSupply('IPv6 mode: the /80 prefix is the whole pool and never grows'),
    primary: {
      mac: facts.primaryMac,
      primaryIp: facts.localIpv4,
      vpcCidrs: facts.vpcIpv4Cidrs,
      ipv6: localIpv6,
      vpcV6,
    },
    maxPods: 110,
    manager,
    facts,
    readVpcCidrs: () => imds.list(`${mac}/vpc-ipv4-cidr-blocks`),
    ipv6Only: true,
    eniMac: (id) => state.ledger.get(id)?.mac,
  };
}
