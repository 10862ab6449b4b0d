// HTTP edges: Prometheus metrics (:8162) and health probes (:8163).
export { AgentMetrics } from './metrics.js';
export { bpfFsCheck, globalPinsCheck, grpcSocketCheck, healthHandler, type Check } from './health.js';
