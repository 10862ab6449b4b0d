// The rpc benchmark's floor: the same RpcServer (node:http2 + the gRPC layer + the protobuf codec) and the V8
// flags of the agent, with handlers that answer at once (no datastore, no checkpoint, no metrics). What a pair
// costs here is what no change inside ipamd can remove. Usage: floor-server.ts <socket path> [node|own] (whose
// HTTP/2 the server runs on; RpcServer's default when absent).
import { CNIBackend } from '@vpc-cni/shared/rpc';
import { RpcServer, ServingStatus } from '@vpc-cni/shared/rpc-server';

const socket = process.argv[2];
if (!socket) throw new Error('usage: floor-server.ts <socket path>');
const http2 = process.argv[3];
if (http2 !== undefined && http2 !== 'node' && http2 !== 'own') throw new Error(`unknown HTTP/2 ${http2}`);
const server = new RpcServer({ unixSocket: socket, ...(http2 ? { http2 } : {}) });
const added = CNIBackend.AddNetwork.response.fromPartial({
  Success: true,
  IPAllocationMetadata: [{ IPv4Addr: '10.0.1.5', DeviceNumber: 0, RouteTableId: 254 }],
  VPCv4CIDRs: ['10.0.0.0/16'],
});
const deleted = CNIBackend.DelNetwork.response.fromPartial({
  Success: true,
  IPAllocationMetadata: [{ IPv4Addr: '10.0.1.5', DeviceNumber: 0, RouteTableId: 254 }],
});
server.addService(CNIBackend, {
  AddNetwork: async () => added,
  DelNetwork: async () => deleted,
});
server.health.set('grpc.health.v1.aws-node', ServingStatus.SERVING);
await server.start();
process.on('SIGTERM', () => void server.stop(100).then(() => process.exit(0)));
