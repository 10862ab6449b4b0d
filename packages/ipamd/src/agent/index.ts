// The aws-k8s-agent process: wiring of datastore, checkpoint, gRPC, introspection and metrics.
export { startAgent, HEALTH_SERVICE, type Agent, type StartOptions } from './agent.js';
export { main } from './main.js';
export { parseStaticEnis, loadStaticEnis, type StaticEni } from './static-enis.js';
