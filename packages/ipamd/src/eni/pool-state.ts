// The one owner of the pool's shared state besides the datastore: the mutex every pool mutation runs under
// (growth, shrink, free, reconcile, self-managed branch ENIs) and the per-ENI facts the datastore does not hold
// (when an ENI entered the pool, its MAC and own address). Created once per node and handed to each user;
// nobody reaches for it through another component.
import { EniLedger } from './ledger.js';
import { Mutex } from './mutex.js';

export class PoolState {
  readonly lock = new Mutex();
  constructor(readonly ledger: EniLedger = new EniLedger()) {}
}
