// The running side of network cards > 0 (docs/architecture.md#network-cards): each card's checkpoint
// (ipam-nic-<n>.json) restored into its datastore (restore.ts: a corrupt or missing one rebuilt from the host's pod
// routes), and the multi-NIC options of the CNI service.
import type { IpamdConfig } from '@vpc-cni/shared/config';
import { instanceLimits } from '@vpc-cni/shared/limits';
import { type CardDecision, multiNicRefusal } from '../cards/index.js';
import { type ManagedCard, type MultiNicOptions, cardCheckpointPath } from '../service/multi-nic.js';
import type { Allocation } from '../store/index.js';
import type { CardPool } from './card-pools.js';
import { type RestoreDeps, restoreCard } from './restore.js';

export interface CardRuntime {
  cards: ManagedCard[];
  pools: CardPool[];
  multiNic: MultiNicOptions;
}

export async function startCardRuntime(
  cfg: IpamdConfig,
  pools: readonly CardPool[],
  instanceType: string | undefined,
  restore: RestoreDeps,
  card0: readonly Allocation[],
  decisions: readonly CardDecision[] = [],
): Promise<CardRuntime> {
  const cards: ManagedCard[] = [];
  const order = [...pools].sort((a, b) => a.card - b.card);
  for (const [i, p] of order.entries()) {
    const checkpoint = await restoreCard(
      restore,
      {
        card: p.card,
        ds: p.ds,
        path: cardCheckpointPath(cfg.AWS_VPC_K8S_CNI_BACKING_STORE, p.card),
        interfaceIndex: i + 1,
      },
      card0,
    );
    if (p.manager)
      p.manager.onReleased = async () => {
        await checkpoint.persist();
      };
    cards.push({ card: p.card, ds: p.ds, checkpoint, supply: p.supply });
  }
  const typeCards = (instanceType && instanceLimits(instanceType)?.networkCards.length) || 1;
  return {
    cards,
    pools: [...pools],
    multiNic: {
      refusal: () =>
        multiNicRefusal({
          enabled: cfg.ENABLE_MULTI_NIC,
          instanceType: instanceType ?? 'this instance type',
          typeCards,
          managedCards: [0, ...cards.map((c) => c.card)],
          unmanagedWhy:
            decisions
              .filter((c) => !c.managed)
              .map((c) => `card ${c.index}: ${c.why}`)
              .join('; ') || undefined,
        }),
      cards: () => cards,
    },
  };
}
