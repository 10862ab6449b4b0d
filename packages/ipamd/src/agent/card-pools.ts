// Network cards > 0 (docs/architecture.md#network-cards): with ENABLE_MULTI_NIC every managed card gets its own
// datastore, EC2 supply and pool manager — ENIs attached with the card's NetworkCardIndex, the card's own ENI
// limit (capped by MAX_ENI), warm 1 / minimum 1, route tables 10000 + 100·card + device, reconcile against the
// card's own IMDS entries. The leaked-ENI sweep is node-wide and runs once, in card 0's manager.
import type { EC2Client, NetworkInterface } from '@aws-sdk/client-ec2';
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { InstanceLimits } from '@vpc-cni/shared/limits';
import type { Logger } from '@vpc-cni/shared/logging';
import { type CardDecision, type CardFacts, cardTable, classifyCards } from '../cards/index.js';
import {
  Ec2Supply,
  type EniPlumbing,
  type EniTargetResolver,
  type ManagedEniRules,
  PoolManager,
  type PoolObserver,
  PoolState,
  type SubnetCatalog,
  unmanagedReason,
} from '../eni/index.js';
import type { AttachedEni } from '../imds/index.js';
import { type AddressSupply, noSupply } from '../service/supply.js';
import { Datastore } from '../store/index.js';
import { type WarmConfig, cardPoolLimits, cardWarmConfig, isPoolTooLow } from '../warm/index.js';

export interface CardPool {
  card: number;
  ds: Datastore;
  /** Where a multi-NIC pod's address on this card comes from when the pool has none free. */
  supply: AddressSupply;
  /** The card's pool loop (EC2 mode); none in IMDS-only mode. */
  manager?: PoolManager | undefined;
  /** ENIs of the card left alone (no_manage, EFA-only, untagged with MANAGE_UNTAGGED_ENI=false). */
  unmanagedCount: number;
  /** ENIs and addresses the card can hold for pods: its limits less the ENIs left alone (when known). */
  capacity?: { enis: number; ips: number } | undefined;
}

export interface CardPoolDeps {
  cfg: IpamdConfig;
  ec2: EC2Client;
  limits: InstanceLimits | undefined;
  enis: readonly NetworkInterface[];
  subnetCidrs: ReadonlyMap<string, string>;
  facts: { instanceId: string; vpcId: string; subnetId: string; securityGroups: string[] };
  rules: ManagedEniRules;
  warm: WarmConfig;
  maxPods: number;
  plumbing: EniPlumbing;
  catalog: SubnetCatalog;
  target?: EniTargetResolver | undefined;
  readImds: () => Promise<AttachedEni[]>;
  observer?: PoolObserver | undefined;
  logger: Logger;
}

const kindOf = (n: NetworkInterface) =>
  n.InterfaceType === 'efa-only' ? 'efa-only' : n.InterfaceType === 'efa' ? 'efa' : 'interface';

/** Which cards are managed, from the instance type's cards and the ENIs attached now. */
export function cardDecisions(
  cfg: IpamdConfig,
  limits: InstanceLimits | undefined,
  enis: readonly NetworkInterface[],
  rules: ManagedEniRules,
): CardDecision[] {
  const indexes = (limits?.networkCards ?? [{ index: 0, maxEnis: 0 }]).map((c) => c.index);
  const byCard = new Map<number, CardFacts['devices'][number][]>();
  for (const n of enis) {
    const card = n.Attachment?.NetworkCardIndex ?? 0;
    const list = byCard.get(card) ?? [];
    list.push({
      eniId: n.NetworkInterfaceId ?? '',
      kind: kindOf(n),
      managed: unmanagedReason(n, { ...rules, card }) === undefined,
    });
    byCard.set(card, list);
  }
  return classifyCards(
    indexes,
    [...byCard].map(([index, devices]) => ({ index, devices })),
    cfg.ENABLE_MULTI_NIC,
  );
}

/** Builds the pool of every managed card > 0, adopting the ENIs already attached there. */
export async function buildCardPools(d: CardPoolDeps, cards: readonly number[]): Promise<CardPool[]> {
  const out: CardPool[] = [];
  for (const card of cards) {
    if (card === 0 || !d.limits) continue;
    const ds = new Datastore({
      family: 4,
      prefixDelegation: d.cfg.ENABLE_PREFIX_DELEGATION,
      cooldownMs: d.cfg.IP_COOLDOWN_PERIOD * 1000,
    });
    const state = new PoolState();
    const unmanaged = new Set<string>();
    const rules = { ...d.rules, card };
    let unmanagedCount = 0;
    for (const n of d.enis) {
      const id = n.NetworkInterfaceId as string;
      const why = unmanagedReason(n, rules);
      if (why) {
        unmanaged.add(id);
        if ((n.Attachment?.NetworkCardIndex ?? 0) === card) {
          unmanagedCount++;
          d.logger.info({ eni: id, card, why }, 'ENI left alone: not used for pods, never freed');
        }
        continue;
      }
      const device = n.Attachment?.DeviceIndex ?? 0;
      const host = {
        id,
        mac: (n.MacAddress ?? '').toLowerCase(),
        primaryIp: n.PrivateIpAddress ?? '',
        subnetCidr: d.subnetCidrs.get(n.SubnetId ?? '') ?? '',
        deviceNumber: device,
        table: cardTable(card, device),
        card,
        maxEni: d.limits.enis,
      };
      // an existing rule for the ENI's address (node image, older release) keeps its table
      const table = (await d.plumbing.up(host)) ?? host.table;
      ds.addEni({
        id,
        deviceNumber: device,
        isEfa: n.InterfaceType === 'efa',
        routeTableId: table,
        subnetId: n.SubnetId,
        subnetCidr: host.subnetCidr,
      });
      state.ledger.record(id, { mac: host.mac, primaryIp: host.primaryIp });
      for (const a of n.PrivateIpAddresses ?? [])
        if (!a.Primary && a.PrivateIpAddress) ds.addCidr(id, `${a.PrivateIpAddress}/32`, false);
      for (const p of n.Ipv4Prefixes ?? []) if (p.Ipv4Prefix) ds.addCidr(id, p.Ipv4Prefix, true);
    }
    const warm = cardWarmConfig(card, d.warm);
    const limits = cardPoolLimits(card, d.limits, d.warm);
    const supply = new Ec2Supply(d.ec2, ds, {
      instanceId: d.facts.instanceId,
      subnetId: d.facts.subnetId,
      securityGroups: d.facts.securityGroups,
      limits,
      warm,
      maxPods: d.maxPods,
      clusterName: d.cfg.CLUSTER_NAME || undefined,
      extraTags: d.cfg.ADDITIONAL_ENI_TAGS,
      ...(d.observer ? { observer: d.observer } : {}),
      logger: d.logger.child({ card }),
      state,
      plumbing: d.plumbing,
      catalog: d.catalog,
      ...(d.target ? { target: d.target } : {}),
      networkCard: card,
    });
    const manager = new PoolManager({
      ec2: d.ec2,
      ds,
      supply,
      state,
      warm,
      limits,
      maxPods: d.maxPods,
      instanceId: d.facts.instanceId,
      vpcId: d.facts.vpcId,
      clusterName: d.cfg.CLUSTER_NAME || undefined,
      plumbing: d.plumbing,
      readImds: async () => (await d.readImds()).filter((e) => e.networkCard === card),
      unmanaged,
      provisioning: !d.cfg.DISABLE_NETWORK_RESOURCE_PROVISIONING,
      leakedEniCleanup: false, // node-wide: card 0's manager sweeps
      rules,
      ...(d.observer ? { observer: d.observer } : {}),
      logger: d.logger.child({ card }),
    });
    if (!d.cfg.DISABLE_NETWORK_RESOURCE_PROVISIONING && isPoolTooLow(ds.stats(), warm, limits, d.maxPods))
      await supply
        .grow(0)
        .catch((err: unknown) =>
          d.logger.warn({ err, card }, 'pre-scaling the pool of a network card failed'),
        );
    d.logger.info({ card, enis: ds.eniList().length, stats: ds.stats() }, 'network card pool loaded');
    const enis = Math.max(limits.maxEni - unmanagedCount, 0);
    out.push({
      card,
      ds,
      // DISABLE_NETWORK_RESOURCE_PROVISIONING: the card's addresses are all there is, as on card 0.
      supply: d.cfg.DISABLE_NETWORK_RESOURCE_PROVISIONING
        ? noSupply(
            `network card ${card}: network resource provisioning is disabled on this node (DISABLE_NETWORK_RESOURCE_PROVISIONING)`,
          )
        : supply,
      manager,
      unmanagedCount,
      capacity: { enis, ips: limits.maxIpsPerEni * enis },
    });
  }
  return out;
}
