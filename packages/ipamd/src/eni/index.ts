// ENIs from EC2: on-demand growth (the AddressSupply), the pool manager loop (shrink, free, reconcile, leaked-ENI
// sweep) and the host plumbing interface.
export { Ec2Supply, type Ec2SupplyOptions } from './ec2-supply.js';
export { PoolManager, type PoolManagerOptions, type TickResult } from './pool-manager.js';
export { EniLedger, type EniFacts } from './ledger.js';
export {
  type PoolObserver,
  type PoolAction,
  type PoolErrorFn,
  type ReconcileFn,
  type UtilsErrorFn,
  quietObserver,
  tracked,
} from './observer.js';
export { isManagedEni, unmanagedReason, type ManagedEniRules } from './managed.js';
export { type EniHostInfo, type EniPlumbing, noPlumbing } from './plumbing.js';
export { freeEni, deleteEni, type FreeEniOptions } from './free-eni.js';
export { sweepLeakedEnis, LEAK_GRACE_MS, type LeakSweepResult } from './leaked.js';
export { reconcilePool, FREED_QUARANTINE_MS, type ReconcileResult } from './reconcile.js';
export { decreasePool, type FreedCache } from './shrink.js';
export { eniViews, poolStats } from './pool-view.js';
export { SubnetCatalog, validForEni, excludedForPods, NO_VALID_SUBNETS, type SubnetInfo } from './subnets.js';
export {
  type EniConfigSource,
  type EniConfigView,
  type EniTarget,
  type EniTargetResolver,
  catalogTarget,
  customNetworkingTarget,
} from './eni-target.js';
