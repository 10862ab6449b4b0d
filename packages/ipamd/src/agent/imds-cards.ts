// ENABLE_IMDS_ONLY_MODE with ENABLE_MULTI_NIC (docs/architecture.md#network-cards): no EC2 call, so a card > 0 is
// managed when IMDS lists an ENI with an address on it (attached beforehand, e.g. by the launch template); its
// pool is exactly those addresses, plumbed into the card's tables. A card with none cannot get one without EC2
// and is left out with that reason (multi-NIC pods are then refused with it). No pool loop, no capacity gauges.
import type { IpamdConfig } from '@vpc-cni/shared/config';
import { instanceLimits } from '@vpc-cni/shared/limits';
import type { Logger } from '@vpc-cni/shared/logging';
import { type CardDecision, cardTable } from '../cards/index.js';
import type { EniPlumbing } from '../eni/index.js';
import type { AttachedEni } from '../imds/index.js';
import { noSupply } from '../service/supply.js';
import { Datastore } from '../store/index.js';
import type { CardPool } from './card-pools.js';

export async function imdsCardPools(
  cfg: IpamdConfig,
  enis: readonly AttachedEni[],
  instanceType: string,
  plumbing: EniPlumbing,
  logger: Logger,
): Promise<{ pools: CardPool[]; decisions: CardDecision[] }> {
  const indexes = new Set([
    0,
    ...(instanceLimits(instanceType)?.networkCards.map((c) => c.index) ?? []),
    ...enis.map((e) => e.networkCard),
  ]);
  const decisions = [...indexes]
    .sort((a, b) => a - b)
    .map((index): CardDecision => {
      if (index === 0) return { index, managed: true, why: 'network card 0 holds the primary ENI' };
      if (!cfg.ENABLE_MULTI_NIC) return { index, managed: false, why: 'ENABLE_MULTI_NIC is false' };
      return enis.some((e) => e.networkCard === index && e.primaryIp)
        ? { index, managed: true, why: 'IMDS-only mode: the addresses IMDS lists on its ENIs' }
        : {
            index,
            managed: false,
            why: 'IMDS-only mode: no ENI with an address is attached to it and ipamd makes no EC2 call to attach one; attach one before ipamd starts',
          };
    });
  const pools: CardPool[] = [];
  for (const { index: card } of decisions.filter((c) => c.managed && c.index !== 0)) {
    const ds = new Datastore({
      family: 4,
      prefixDelegation: cfg.ENABLE_PREFIX_DELEGATION,
      cooldownMs: cfg.IP_COOLDOWN_PERIOD * 1000,
    });
    let unmanagedCount = 0;
    for (const e of enis.filter((x) => x.networkCard === card)) {
      if (!e.primaryIp) {
        unmanagedCount++; // an efa-only interface has no address
        continue;
      }
      const host = {
        id: e.eniId,
        mac: e.mac,
        primaryIp: e.primaryIp,
        subnetCidr: e.subnetCidr ?? '',
        deviceNumber: e.deviceNumber,
        table: cardTable(card, e.deviceNumber),
        card,
      };
      const table = (await plumbing.up(host)) ?? host.table;
      ds.addEni({
        id: e.eniId,
        deviceNumber: e.deviceNumber,
        routeTableId: table,
        subnetId: e.subnetId,
        ...(e.subnetCidr ? { subnetCidr: e.subnetCidr } : {}),
      });
      for (const ip of e.secondaryIps) ds.addCidr(e.eniId, `${ip}/32`, false);
      for (const p of e.ipv4Prefixes) ds.addCidr(e.eniId, p, true);
    }
    logger.info({ card, enis: ds.eniList().length, stats: ds.stats() }, 'network card loaded from IMDS');
    pools.push({
      card,
      ds,
      supply: noSupply(
        `network card ${card}: ENABLE_IMDS_ONLY_MODE: ipamd makes no EC2 call, so it cannot add addresses; attach ENIs with enough addresses to the card`,
      ),
      unmanagedCount,
    });
  }
  return { pools, decisions };
}
