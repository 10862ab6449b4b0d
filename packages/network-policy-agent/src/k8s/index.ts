// Kubernetes edges of the agent: the PolicyEndpoint model and watch, the node's pod labels (strict mode), Warning
// events, the client.
export { agentKube, type AgentKube } from './client.js';
export { PolicyEndpointSource, type PeSink } from './pe-source.js';
export { PodLabelSource } from './pod-labels.js';
export { kubeEventRecorder, type EventRecorder } from './events.js';
export {
  parsePolicyEndpoint,
  type PolicyEndpoint,
  type EndpointInfo,
  type PodEndpoint,
  PE_GROUP,
  PE_PLURAL,
  PE_VERSION,
  CHANGE_TIME_ANNOTATION,
} from './policy-endpoint.js';
