// The NPBackend gRPC service the CNI plugin calls (EnforceNpToPod on ADD, DeletePodNp on DEL), wire-compatible
// with upstream's rpc.proto, on the unix socket and on loopback TCP 50052 for older plugins; plus the gRPC health
// service `grpc.health.v1.np-agent`.
import type { DeleteNpReply, DeleteNpRequest, EnforceNpReply, EnforceNpRequest } from '@vpc-cni/shared/rpc';
import { GrpcStatus, NPBackend, RpcError } from '@vpc-cni/shared/rpc';
import { RpcServer, ServingStatus } from '@vpc-cni/shared/rpc-server';
import type { Logger } from '@vpc-cni/shared/logging';

export const NPA_HEALTH_SERVICE = 'grpc.health.v1.np-agent';

/** What the service does per call; errors it throws become gRPC errors (the ADD fails). */
export interface NpHandlers {
  enforce(req: EnforceNpRequest): void;
  deletePod(req: DeleteNpRequest): void;
}

/** NP disabled (flag off, or ipamd's mode `none`): every call succeeds and changes nothing. */
export const disabledHandlers: NpHandlers = { enforce: () => {}, deletePod: () => {} };

export async function startNpServer(o: {
  socket: string;
  tcpAddress: string;
  handlers: () => NpHandlers;
  logger: Logger;
}): Promise<{ server: RpcServer; tcpPort: number }> {
  const server = new RpcServer({
    unixSocket: o.socket,
    ...(o.tcpAddress ? { tcpAddress: o.tcpAddress } : {}),
  });
  server.addService(NPBackend, {
    EnforceNpToPod: async (req): Promise<EnforceNpReply> => {
      try {
        o.handlers().enforce(req);
      } catch (err) {
        o.logger.error({ err, pod: `${req.K8S_POD_NAMESPACE}/${req.K8S_POD_NAME}` }, 'EnforceNpToPod failed');
        throw err instanceof RpcError
          ? err
          : new RpcError(GrpcStatus.INTERNAL, (err as Error).message, NPBackend.EnforceNpToPod.path);
      }
      return { Success: true };
    },
    DeletePodNp: async (req): Promise<DeleteNpReply> => {
      try {
        o.handlers().deletePod(req);
      } catch (err) {
        o.logger.error({ err, pod: `${req.K8S_POD_NAMESPACE}/${req.K8S_POD_NAME}` }, 'DeletePodNp failed');
        throw err instanceof RpcError
          ? err
          : new RpcError(GrpcStatus.INTERNAL, (err as Error).message, NPBackend.DeletePodNp.path);
      }
      return { Success: true };
    },
  });
  server.health.set(NPA_HEALTH_SERVICE, ServingStatus.SERVING);
  const { tcpPort } = await server.start();
  return { server, tcpPort };
}
