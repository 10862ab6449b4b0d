// Multi-NIC pods (docs/architecture.md#addnetwork-and-delnetwork): a pod annotated
// k8s.amazonaws.com/nicConfig: multi-nic-attachment gets one address on every managed network card, all or
// nothing, each card's allocation durable in that card's checkpoint before the reply. Ordinary pods never come
// here: they stay on card 0.
import type { Checkpoint } from '../persistence/index.js';
import type { Datastore } from '../store/index.js';
import type { AddressSupply } from './supply.js';

/** One managed card > 0: its datastore, its checkpoint (ipam-nic-<n>.json), and where its addresses come from. */
export interface ManagedCard {
  card: number;
  ds: Datastore;
  checkpoint: Checkpoint;
  supply: AddressSupply;
}

export interface MultiNicOptions {
  /** Why multi-NIC pods cannot be served on this node now (../cards/refusal.ts); undefined = served. */
  refusal: () => string | undefined;
  /** The managed cards other than 0, ascending. */
  cards: () => readonly ManagedCard[];
}

/** Checkpoint file of card n > 0: the configured path without a trailing `.json`, plus `-nic-<n>.json`. */
export function cardCheckpointPath(path: string, card: number): string {
  return card === 0 ? path : `${path.replace(/\.json$/, '')}-nic-${card}.json`;
}
