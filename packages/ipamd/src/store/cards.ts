// The datastores of every managed network card (docs/architecture.md#datastore), and the one operation that
// spans them: a multi-NIC pod takes one address on each card, all or nothing. Where upstream keeps the addresses
// already taken on earlier cards when a later card has none (until the DEL that follows), nothing is kept here.
import type { Datastore } from './datastore.js';
import { DatastoreError } from './errors.js';
import type { Assigned, IpamKey, PodMetadata, Released } from './types.js';

export interface CardAssigned extends Assigned {
  card: number;
}

export interface CardReleased extends Released {
  card: number;
}

/** A card could not give the pod its address; `kind` is the card's own datastore error kind. */
export class CardAssignError extends DatastoreError {
  constructor(
    readonly card: number,
    cause: DatastoreError,
  ) {
    super(cause.kind, `network card ${card}: ${cause.message}`);
    this.name = 'CardAssignError';
  }
}

export class CardStores {
  private readonly order: number[];

  constructor(private readonly stores: ReadonlyMap<number, Datastore>) {
    if (!stores.has(0)) throw new Error('network card 0 needs a datastore');
    this.order = [...stores.keys()].sort((a, b) => a - b);
  }

  /** Managed cards, ascending. */
  cards(): readonly number[] {
    return this.order;
  }

  card(n: number): Datastore {
    const ds = this.stores.get(n);
    if (!ds) throw new DatastoreError('unknown-eni', `network card ${n} is not managed on this node`);
    return ds;
  }

  /**
   * One address per managed card for the key (an address it holds already is kept: a repeated ADD). When a card
   * fails, every address this call took on the other cards is given back as if never handed out, and the card's
   * error is rethrown with the card named.
   */
  assignAll(key: IpamKey, metadata: Omit<PodMetadata, 'interfacesCount'>): CardAssigned[] {
    const meta: PodMetadata = { ...metadata, interfacesCount: this.order.length };
    const taken: number[] = [];
    const out: CardAssigned[] = [];
    for (const card of this.order) {
      const ds = this.card(card);
      const had = ds.lookup(key) !== undefined;
      try {
        out.push({ ...ds.assign(key, meta), card });
        if (!had) taken.push(card);
      } catch (e) {
        for (const c of taken) this.card(c).undoAssign(key);
        if (e instanceof DatastoreError) throw new CardAssignError(card, e);
        throw e;
      }
    }
    return out;
  }

  /** Gives back what assignAll took (a checkpoint write failed). */
  undoAssignAll(key: IpamKey): void {
    for (const card of this.order) this.card(card).undoAssign(key);
  }

  /** The key's addresses on every card that has one; empty when none. */
  lookupAll(key: IpamKey): CardAssigned[] {
    return this.order.flatMap((card) => {
      const a = this.card(card).lookup(key);
      return a ? [{ ...a, card }] : [];
    });
  }

  /** Releases the key on every card (DEL); empty when no card knew it. */
  unassignAll(key: IpamKey): CardReleased[] {
    return this.order.flatMap((card) => {
      const r = this.card(card).unassign(key);
      return r ? [{ ...r, card }] : [];
    });
  }

  /** Puts back what unassignAll released (a checkpoint write failed). */
  undoUnassignAll(released: readonly CardReleased[]): void {
    for (const r of released) this.card(r.card).undoUnassign(r);
  }
}
