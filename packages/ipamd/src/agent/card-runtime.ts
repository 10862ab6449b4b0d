// The running side of network cards > 0 (docs/architecture.md#network-cards): each card's checkpoint
// (ipam-nic-<n>.json) restored into its datastore, and the multi-NIC options of the CNI service. A corrupt card
// checkpoint is moved aside and the card starts empty (its pods' other addresses are on card 0; their DEL still
// releases what is left).
import type { IpamdConfig } from '@vpc-cni/shared/config';
import { instanceLimits } from '@vpc-cni/shared/limits';
import type { Logger } from '@vpc-cni/shared/logging';
import { multiNicRefusal } from '../cards/index.js';
import type { ErrorLog } from '../http/index.js';
import { Checkpoint } from '../persistence/index.js';
import { type ManagedCard, type MultiNicOptions, cardCheckpointPath } from '../service/multi-nic.js';
import type { CardPool } from './card-pools.js';

export interface CardRuntime {
  cards: ManagedCard[];
  pools: CardPool[];
  multiNic: MultiNicOptions;
}

export async function startCardRuntime(
  cfg: IpamdConfig,
  pools: readonly CardPool[],
  instanceType: string | undefined,
  logger: Logger,
  errors: ErrorLog,
): Promise<CardRuntime> {
  const cards: ManagedCard[] = [];
  for (const p of pools) {
    const checkpoint = new Checkpoint(
      cardCheckpointPath(cfg.AWS_VPC_K8S_CNI_BACKING_STORE, p.card),
      () => p.ds.allocations(),
      logger,
    );
    const loaded = await checkpoint.load();
    if (loaded.kind === 'corrupt')
      errors.record('checkpoint load', loaded.reason, `network card ${p.card}: moved to ${loaded.movedTo}`);
    const restored = p.ds.restore(loaded.kind === 'loaded' ? loaded.entries.map((e) => e.allocation) : []);
    for (const q of restored.quarantined)
      errors.record(
        'restore',
        `${q.address} (${q.key.containerID}) is on no ENI of network card ${p.card}`,
        'kept in quarantine until its ENI or address reappears; check EC2 for the ENI',
      );
    await checkpoint.persist();
    logger.info(
      {
        card: p.card,
        restored: restored.restored,
        quarantined: restored.quarantined.length,
        from: loaded.kind,
      },
      'network card checkpoint restored',
    );
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
        }),
      cards: () => cards,
    },
  };
}
