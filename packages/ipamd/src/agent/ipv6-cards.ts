// IPv6 mode on network cards > 0 (docs/architecture.md#ipv6-mode, #network-cards): with ENABLE_MULTI_NIC every
// managed card > 0 without an ENI of its own gets one, created in the primary ENI's subnet with one IPv6 address
// (`Ipv6AddressCount=1`) and attached with the card's NetworkCardIndex at its lowest free device index; every
// managed ENI of the card gets exactly one /80 prefix (`AssignIpv6Addresses(Ipv6PrefixCount=1)` when it has none;
// extra prefixes are ignored, never freed) and its host plumbing in the card's table (10000 + 100·card + device)
// with a `from <ENI IPv6>` rule. As on card 0, there is no warm pool, growth, shrink or reconcile: the /80 is the
// card's whole pool. A card whose ENI cannot be created stays managed but empty, and a multi-NIC pod is refused
// with the reason (the node itself keeps serving ordinary pods, as upstream).
import {
  AssignIpv6AddressesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { InstanceLimits } from '@vpc-cni/shared/limits';
import type { Logger } from '@vpc-cni/shared/logging';
import { cardTable } from '../cards/index.js';
import { type EniPlumbing, type ManagedEniRules, type PoolObserver, unmanagedReason } from '../eni/index.js';
import { createAndAttachEni } from '../eni/create-eni.js';
import { ec2Call } from '../eni/ec2-call.js';
import { noSupply } from '../service/supply.js';
import { Datastore } from '../store/index.js';
import type { CardPool } from './card-pools.js';

export interface Ipv6CardDeps {
  cfg: IpamdConfig;
  ec2: EC2Client;
  limits: InstanceLimits | undefined;
  /** Every ENI attached to the instance (DescribeNetworkInterfaces at start). */
  enis: readonly NetworkInterface[];
  facts: { instanceId: string; subnetId: string; securityGroups: string[] };
  rules: ManagedEniRules;
  plumbing: EniPlumbing;
  observer?: PoolObserver | undefined;
  logger: Logger;
}

/** The ENI's own IPv6 address (the primary one when EC2 marks it), used for its host rule. */
const ownIpv6 = (n: NetworkInterface): string | undefined =>
  (n.Ipv6Addresses?.find((a) => a.IsPrimaryIpv6) ?? n.Ipv6Addresses?.[0])?.Ipv6Address;

/** The IPv6 CIDR of each subnet, asked of EC2 once per subnet. */
function subnetV6Lookup(ec2: EC2Client): (subnetId: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (id) => {
    let p = cache.get(id);
    if (!p) {
      p = ec2
        .send(new DescribeSubnetsCommand({ SubnetIds: [id] }))
        .then((r) => r.Subnets?.[0]?.Ipv6CidrBlockAssociationSet?.[0]?.Ipv6CidrBlock ?? '');
      cache.set(id, p);
    }
    return p;
  };
}

/** Builds the pool of every managed card > 0 in IPv6 mode (cards: the managed card indexes). */
export async function ipv6CardPools(d: Ipv6CardDeps, cards: readonly number[]): Promise<CardPool[]> {
  const out: CardPool[] = [];
  const subnetV6 = subnetV6Lookup(d.ec2);
  for (const card of cards) {
    if (card === 0 || !d.limits) continue;
    out.push(await ipv6Card(d, card, subnetV6));
  }
  return out;
}

async function ipv6Card(
  d: Ipv6CardDeps,
  card: number,
  subnetV6: (subnetId: string) => Promise<string>,
): Promise<CardPool> {
  const log = d.logger.child({ card });
  const ds = new Datastore({
    family: 6,
    prefixDelegation: true,
    cooldownMs: d.cfg.IP_COOLDOWN_PERIOD * 1000,
  });
  const rules = { ...d.rules, card };
  const onCard = d.enis.filter((n) => (n.Attachment?.NetworkCardIndex ?? 0) === card);
  const usable: NetworkInterface[] = [];
  let unmanagedCount = 0;
  for (const n of onCard) {
    const why = unmanagedReason(n, rules) ?? (ownIpv6(n) ? undefined : 'it has no IPv6 address');
    if (why) {
      unmanagedCount++;
      log.info({ eni: n.NetworkInterfaceId, why }, 'ENI left alone: not used for pods, never freed');
    } else usable.push(n);
  }
  const cardLimit = d.limits?.networkCards.find((c) => c.index === card)?.maxEnis ?? 0;
  const maxEni = d.cfg.MAX_ENI ? Math.min(cardLimit, d.cfg.MAX_ENI) : cardLimit;
  let emptyWhy: string | undefined;
  if (usable.length === 0) {
    if (d.cfg.DISABLE_NETWORK_RESOURCE_PROVISIONING)
      emptyWhy = `network card ${card}: IPv6 mode: the card has no ENI and network resource provisioning is disabled on this node (DISABLE_NETWORK_RESOURCE_PROVISIONING); attach one with an IPv6 address`;
    else if (onCard.length >= maxEni)
      emptyWhy = `network card ${card}: IPv6 mode: no ENI slot left on the card for one with an IPv6 address (${onCard.length}/${maxEni} taken by ENIs left alone)`;
    else {
      const used = new Set(onCard.map((n) => n.Attachment?.DeviceIndex ?? 0));
      const device = [...Array(128).keys()].find((i) => !used.has(i)) ?? 0;
      try {
        const { eni } = await createAndAttachEni(
          {
            ec2: d.ec2,
            instanceId: d.facts.instanceId,
            securityGroups: d.facts.securityGroups,
            clusterName: d.cfg.CLUSTER_NAME || undefined,
            extraTags: d.cfg.ADDITIONAL_ENI_TAGS,
            logger: log,
            observer: d.observer,
          },
          {
            resources: 1,
            unit: 'ipv6',
            deviceNumber: device,
            subnets: [{ id: d.facts.subnetId, cidr: '', free: 0, tags: new Map() }],
            networkCard: card,
          },
        );
        usable.push({ ...eni, Attachment: { DeviceIndex: device, NetworkCardIndex: card } });
        log.info({ eni: eni.NetworkInterfaceId, device }, 'IPv6 mode: created an ENI for the network card');
      } catch (err) {
        emptyWhy = `network card ${card}: IPv6 mode: creating the card's ENI failed (${String(err)}); restart ipamd to try again`;
        log.warn(
          { err },
          'IPv6 mode: could not create the ENI of a network card; multi-NIC pods are refused',
        );
      }
    }
  }
  for (const n of usable) {
    const id = n.NetworkInterfaceId ?? '';
    const device = n.Attachment?.DeviceIndex ?? 0;
    let prefix = n.Ipv6Prefixes?.[0]?.Ipv6Prefix;
    if (!prefix) {
      const r = await ec2Call(
        'AssignIpv6Addresses',
        () => d.ec2.send(new AssignIpv6AddressesCommand({ NetworkInterfaceId: id, Ipv6PrefixCount: 1 })),
        {},
      );
      prefix = r.AssignedIpv6Prefixes?.[0];
      if (!prefix) throw new Error(`AssignIpv6Addresses gave ${id} no /80 prefix`);
      log.info({ eni: id, prefix }, 'assigned the IPv6 /80 prefix of the network card ENI');
    }
    const host = {
      id,
      mac: (n.MacAddress ?? '').toLowerCase(),
      primaryIp: ownIpv6(n) ?? '',
      subnetCidr: await subnetV6(n.SubnetId ?? d.facts.subnetId),
      deviceNumber: device,
      table: cardTable(card, device),
      card,
      maxEni: cardLimit,
    };
    // an existing rule for the ENI's address (node image, older release) keeps its table
    const table = (await d.plumbing.up(host)) ?? host.table;
    ds.addEni({
      id,
      deviceNumber: device,
      routeTableId: table,
      subnetId: n.SubnetId,
      subnetCidr: host.subnetCidr,
    });
    ds.addCidr(id, prefix, true);
  }
  log.info({ enis: ds.eniList().length, stats: ds.stats() }, 'IPv6 mode: network card loaded');
  const enis = Math.max(maxEni - unmanagedCount, 0);
  return {
    card,
    ds,
    supply: noSupply(
      emptyWhy ?? `network card ${card}: IPv6 mode: the /80 prefix is the whole pool and never grows`,
    ),
    unmanagedCount,
    capacity: { enis, ips: ((d.limits?.ipv4PerEni ?? 1) - 1) * enis },
  };
}
