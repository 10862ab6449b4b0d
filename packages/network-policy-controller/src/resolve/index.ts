// The pure core of the controller: NetworkPolicy + cluster state → PolicyEndpoint writes.
export { clusterView, type ClusterView } from './cluster.js';
export { resolvePolicy, policyIsolation, selectedPods, type DesiredPolicy } from './resolve.js';
export { planEndpoints, sameSpec, type EndpointPlan, type ExistingEndpoint } from './chunk.js';
export { mergeEntries, normalizeEntry, entryKey, podKey } from './entries.js';
export {
  newPolicyEndpoint,
  updatePatch,
  ownerReference,
  changeTime,
  type PolicyEndpointObject,
} from './objects.js';
export { isReady, podIP } from './pods.js';
export { ingressPeers } from './wire.js';
