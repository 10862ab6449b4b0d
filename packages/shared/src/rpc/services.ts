// Method descriptors for every service we speak: full path plus the generated message codecs.
// Kept free of runtime @grpc/grpc-js imports so the CNI plugin can use them with the small http2 client;
// toGrpcServiceDefinition() turns them into grpc-js service definitions (tests use grpc-js as a client).
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { HealthCheckRequest, HealthCheckResponse } from './gen/health.js';
import {
  AddNetworkReply,
  AddNetworkRequest,
  DeleteNpReply,
  DeleteNpRequest,
  DelNetworkReply,
  DelNetworkRequest,
  EnforceNpReply,
  EnforceNpRequest,
  type MessageFns,
  NetworkPolicyAgentConfigReply,
} from './gen/rpc.js';
import { Empty } from './gen/google/protobuf/empty.js';
import { GarbageCollectReply, GarbageCollectRequest } from './gen/gc.js';

export interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly request: MessageFns<Req>;
  readonly response: MessageFns<Res>;
  readonly responseStream?: boolean;
}

const method = <Req, Res>(
  path: string,
  request: MessageFns<Req>,
  response: MessageFns<Res>,
  responseStream = false,
): UnaryMethod<Req, Res> => ({ path, request, response, responseStream });

export const CNIBackend = {
  AddNetwork: method('/rpc.CNIBackend/AddNetwork', AddNetworkRequest, AddNetworkReply),
  DelNetwork: method('/rpc.CNIBackend/DelNetwork', DelNetworkRequest, DelNetworkReply),
} as const;

export const NPBackend = {
  EnforceNpToPod: method('/rpc.NPBackend/EnforceNpToPod', EnforceNpRequest, EnforceNpReply),
  DeletePodNp: method('/rpc.NPBackend/DeletePodNp', DeleteNpRequest, DeleteNpReply),
} as const;

export const ConfigServerBackend = {
  GetNetworkPolicyConfigs: method(
    '/rpc.ConfigServerBackend/GetNetworkPolicyConfigs',
    Empty,
    NetworkPolicyAgentConfigReply,
  ),
} as const;

/** vpc-cni-ts extension for CNI 1.1 GC (src/rpc/proto/gc.proto). */
export const CNIGarbageCollector = {
  GarbageCollect: method(
    '/vpccni.v1.CNIGarbageCollector/GarbageCollect',
    GarbageCollectRequest,
    GarbageCollectReply,
  ),
} as const;

export const Health = {
  Check: method('/grpc.health.v1.Health/Check', HealthCheckRequest, HealthCheckResponse),
  Watch: method('/grpc.health.v1.Health/Watch', HealthCheckRequest, HealthCheckResponse, true),
} as const;

type AnyMethod = UnaryMethod<unknown, unknown>;

/** Builds the grpc-js ServiceDefinition for one of the service descriptor objects above. */
export function toGrpcServiceDefinition(service: Record<string, AnyMethod>): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(service)) {
    def[name] = {
      path: m.path,
      requestStream: false,
      responseStream: m.responseStream ?? false,
      requestSerialize: (v: unknown) => Buffer.from(m.request.encode(v).finish()),
      requestDeserialize: (b: Buffer) => m.request.decode(b),
      responseSerialize: (v: unknown) => Buffer.from(m.response.encode(v).finish()),
      responseDeserialize: (b: Buffer) => m.response.decode(b),
      originalName: name,
    };
  }
  return def as ServiceDefinition;
}
