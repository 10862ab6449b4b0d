// The server side of the rpc contract, on node:http2 (ipamd and the network policy agent; kept apart so aws-cni
// never loads node:http2).
export {
  RpcServer,
  splitHostPort,
  type RpcServerOptions,
  type ServiceHandlers,
  type UnaryHandler,
} from '../rpc/server.js';
export { HealthRegistry, ServingStatus } from '../rpc/health.js';
