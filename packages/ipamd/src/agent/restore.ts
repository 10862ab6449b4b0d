// Checkpoint restore at start-up, card 0 and every managed card > 0 (docs/architecture.md#checkpoint-file,
// docs/architecture.md#network-cards). A corrupt checkpoint is moved aside and the allocations are rebuilt from the
// pod routes aws-cni left on the host: on card 0 the addresses no other card holds; on card n > 0 the addresses of
// the card's own ENIs, also when the card's file is missing (its pods' routes name live addresses). A card-n
// address whose route is on the host veth of a restored multi-NIC pod's interface gets that pod's key back, so the
// pod's DEL releases it; any other gets the recognisable placeholder key.
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { Logger } from '@vpc-cni/shared/logging';
import { hostVethName } from '@vpc-cni/network-policy-agent/agent-veth';
import type { ErrorLog } from '../http/index.js';
import { Checkpoint } from '../persistence/index.js';
import type { Allocation, Datastore } from '../store/index.js';

export interface RestoreDeps {
  cfg: IpamdConfig;
  logger: Logger;
  errors: ErrorLog;
  /** The pod routes on the host, as recovered allocations (read at most once). */
  hostRoutes: () => Promise<Allocation[]>;
}

export interface Restored {
  checkpoint: Checkpoint;
  allocations: Allocation[];
}

/** Card 0: the checkpoint, or the host's pod routes that are not on another managed card's ENIs. */
export async function restoreCard0(
  d: RestoreDeps,
  ds: Datastore,
  others: readonly Datastore[],
): Promise<Restored> {
  const checkpoint = new Checkpoint(d.cfg.AWS_VPC_K8S_CNI_BACKING_STORE, () => ds.allocations(), d.logger);
  const loaded = await checkpoint.load();
  const allocations =
    loaded.kind === 'loaded'
      ? loaded.entries.map((e) => e.allocation)
      : loaded.kind === 'corrupt'
        ? (await d.hostRoutes()).filter((a) => !others.some((o) => o.holds(a.address)))
        : [];
  if (loaded.kind === 'corrupt')
    d.errors.record(
      'checkpoint load',
      loaded.reason,
      `moved to ${loaded.movedTo}; ${allocations.length} pod addresses recovered from host routes`,
    );
  const r = finish(d, ds, allocations, 0);
  await checkpoint.persist();
  d.logger.info({ ...r, from: loaded.kind }, 'checkpoint restored');
  return { checkpoint, allocations };
}

/**
 * Card n > 0 (its file `path`): the checkpoint, or (corrupt or missing) the pod routes to the card's addresses.
 * `interfaceIndex` is the card's place among the managed cards (card 0 = 0), which names a multi-NIC pod's veth.
 */
export async function restoreCard(
  d: RestoreDeps,
  card: { card: number; ds: Datastore; path: string; interfaceIndex: number },
  card0: readonly Allocation[],
): Promise<Checkpoint> {
  const { ds } = card;
  const checkpoint = new Checkpoint(card.path, () => ds.allocations(), d.logger);
  const loaded = await checkpoint.load();
  const allocations =
    loaded.kind === 'loaded'
      ? loaded.entries.map((e) => e.allocation)
      : loaded.kind === 'missing' && ds.eniList().length === 0
        ? [] // a card with no ENI yet has no pod on it
        : recoverCardAllocations(
            (await d.hostRoutes()).filter((a) => ds.holds(a.address)),
            card0,
            d.cfg.AWS_VPC_K8S_CNI_VETHPREFIX,
            card.interfaceIndex,
          );
  if (loaded.kind === 'corrupt')
    d.errors.record(
      'checkpoint load',
      loaded.reason,
      `network card ${card.card}: moved to ${loaded.movedTo}; ${allocations.length} pod addresses recovered from host routes`,
    );
  else if (loaded.kind === 'missing' && allocations.length > 0)
    d.errors.record(
      'checkpoint load',
      `network card ${card.card}: ${card.path} is missing while ${allocations.length} pod routes use the card's addresses`,
      'recovered from host routes; nothing to do',
    );
  const r = finish(d, ds, allocations, card.card);
  await checkpoint.persist();
  d.logger.info({ card: card.card, ...r, from: loaded.kind }, 'network card checkpoint restored');
  return checkpoint;
}

/**
 * Pure: the recovered routes of one card, each given the key of the multi-NIC pod whose interface
 * `interfaceIndex` owns the route's host veth, or left with its placeholder key.
 */
export function recoverCardAllocations(
  routes: readonly Allocation[],
  card0: readonly Allocation[],
  vethPrefix: string,
  interfaceIndex: number,
): Allocation[] {
  const byVeth = new Map<string, Allocation>();
  for (const a of card0)
    if (a.metadata.interfacesCount > interfaceIndex && a.metadata.k8sPodName)
      byVeth.set(
        hostVethName(vethPrefix, a.metadata.k8sPodNamespace, a.metadata.k8sPodName, interfaceIndex),
        a,
      );
  return routes.map((r) => {
    const pod = byVeth.get(r.key.ifName);
    return pod ? { ...r, key: pod.key, metadata: pod.metadata, assignedAtNs: pod.assignedAtNs } : r;
  });
}

function finish(
  d: RestoreDeps,
  ds: Datastore,
  allocations: readonly Allocation[],
  card: number,
): { restored: number; quarantined: number } {
  const where = card === 0 ? 'this node' : `network card ${card}`;
  const r = ds.restore(allocations);
  for (const q of r.quarantined) {
    d.logger.warn({ address: q.address, key: q.key, card }, 'allocation on no known ENI: kept in quarantine');
    d.errors.record(
      'restore',
      `${q.address} (${q.key.containerID}) is on no ENI of ${where}`,
      'kept in quarantine until its ENI or address reappears; check EC2 for the ENI',
    );
  }
  return { restored: r.restored, quarantined: r.quarantined.length };
}
