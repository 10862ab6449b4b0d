// ipamd's gRPC contract: generated messages, method descriptors and a light client (the server is in
// ../rpc-server). The CNI plugin imports only './client', './services' and the messages (no node:http2).
export * from './gen/rpc.js';
export {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from './gen/health.js';
export { Empty } from './gen/google/protobuf/empty.js';
export { Attachment, GarbageCollectRequest, GarbageCollectReply, ReleasedAllocation } from './gen/gc.js';
export {
  CNIBackend,
  NPBackend,
  ConfigServerBackend,
  CNIGarbageCollector,
  Health,
  toGrpcServiceDefinition,
  type UnaryMethod,
} from './services.js';
export { RpcClient, parseEndpoint, type RpcClientOptions, type CallOptions } from './client.js';
export { IPAMD_HEALTH_SERVICE, isServing } from './serving.js';
export { netTransport, type H2Transport, type Target, type TransportEvents } from './transport.js';
export { GrpcStatus, RpcError, grpcStatusName, type GrpcStatusCode } from './status.js';
export {
  DEFAULT_IPAMD_SOCKET,
  DEFAULT_IPAMD_TCP_ADDRESS,
  ENDPOINT_FORMS,
  endpointTarget,
  type EndpointTarget,
} from './endpoints.js';
