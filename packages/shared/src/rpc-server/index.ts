// The grpc-js based server side of the rpc contract (ipamd only; kept apart so aws-cni never loads grpc-js).
export {
  RpcServer,
  splitHostPort,
  type RpcServerOptions,
  type ServiceHandlers,
  type UnaryHandler,
} from '../rpc/server.js';
export { HealthRegistry, ServingStatus } from '../rpc/health.js';
