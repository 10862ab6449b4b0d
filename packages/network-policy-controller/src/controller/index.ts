// The controller's I/O edge: watches, batching, PolicyEndpoint writes, flags, health.
export { PolicyController, type ControllerOptions, type WriteCounts } from './controller.js';
export { parseFlags, usage, FlagError, type ControllerFlags } from './flags.js';
export { affectedPolicies, policyKey, type Change, type PolicyKey } from './affected.js';
export { LeaderElector, decide, type LeaderOptions } from './leader.js';
export { ControllerMetrics, serveMetrics } from './metrics.js';
