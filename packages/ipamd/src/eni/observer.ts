// What the pool code reports as it works (upstream's awscni_* counters and gauges, see the package README's
// metrics table): errors by function name, actions in progress, reconcile corrections, force-removals, failed
// AWS clean-ups. The metrics module implements it; tests and benches may pass `quietObserver`.
/** Actions counted in awscni_ipamd_action_inprogress{fn}. */
export type PoolAction =
  'nodeInit' | 'increaseDatastorePool' | 'decreaseDatastorePool' | 'nodeIPPoolReconcile';

/** Corrections counted in awscni_reconcile_count{fn}. */
export type ReconcileFn =
  'eniReconcileAdd' | 'eniReconcileDel' | 'eniDataStorePoolReconcileAdd' | 'eniIPPoolReconcileDel';

/** Internal errors counted in awscni_ipamd_error_count{fn} (upstream's names). */
export type PoolErrorFn =
  | 'increaseIPPoolAllocENI'
  | 'increaseIPPoolAllocIPAddressesFailed'
  | 'increaseIPPoolsetupENIFailed'
  | 'decreaseIPPool'
  | 'decreaseIPPoolFreeENIFailed'
  | 'reconcileFailedGetENIs'
  | 'eniReconcileAdd';

/** Failed AWS clean-ups counted in awscni_aws_utils_error_count{fn,error}. */
export type UtilsErrorFn = 'AllocENIDeleteErr' | 'FreeENIDeleteErr' | 'cleanUpLeakedENIDeleteErr';

export interface PoolObserver {
  error(fn: PoolErrorFn): void;
  inProgress(fn: PoolAction, delta: 1 | -1): void;
  reconciled(fn: ReconcileFn, count: number): void;
  /** ENIs removed while pods had addresses on them, and addresses removed while assigned. */
  forceRemoved(enis: number, ips: number): void;
  utilsError(fn: UtilsErrorFn, error: string): void;
}

export const quietObserver: PoolObserver = {
  error: () => {},
  inProgress: () => {},
  reconciled: () => {},
  forceRemoved: () => {},
  utilsError: () => {},
};

/** Runs `work` counted as in progress under `fn`. */
export async function tracked<T>(o: PoolObserver, fn: PoolAction, work: () => Promise<T>): Promise<T> {
  o.inProgress(fn, 1);
  try {
    return await work();
  } finally {
    o.inProgress(fn, -1);
  }
}
