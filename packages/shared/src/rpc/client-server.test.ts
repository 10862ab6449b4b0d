// The light http2 client against the grpc-js server helper over a real unix socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcServer, ServingStatus } from '../rpc-server/index.js';
import { CNIBackend, GrpcStatus, Health, RpcClient, RpcError, type AddNetworkRequest } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'vct-rpc-'));
const socket = join(dir, 'sub', 'ipamd.sock');
const server = new RpcServer({ unixSocket: socket, tcpAddress: '127.0.0.1:0' });
let tcpPort = 0;
const seen: AddNetworkRequest[] = [];

beforeAll(async () => {
  server.addService(CNIBackend, {
    AddNetwork: async (req) => {
      seen.push(req);
      if (req.ContainerID === 'slow') await new Promise((r) => setTimeout(r, 2_000));
      return CNIBackend.AddNetwork.response.fromPartial({
        Success: true,
        IPAllocationMetadata: [{ IPv4Addr: '10.0.1.5', DeviceNumber: 1, RouteTableId: 2 }],
      });
    },
    DelNetwork: async () => {
      throw new RpcError(GrpcStatus.UNKNOWN, 'datastore: unknown pod', 'DelNetwork');
    },
  });
  server.health.set('', ServingStatus.SERVING);
  ({ tcpPort } = await server.start());
});

afterAll(async () => {
  await server.stop(1_000);
  rmSync(dir, { recursive: true, force: true });
});

describe('RpcClient <-> RpcServer', () => {
  it('creates the socket with mode 0660 in a fresh directory', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o660);
  });

  it('round-trips AddNetwork over the unix socket', async () => {
    const client = new RpcClient({ endpoint: `unix://${socket}` });
    const reply = await client.call(
      CNIBackend.AddNetwork,
      CNIBackend.AddNetwork.request.fromPartial({
        ContainerID: 'c1',
        IfName: 'eth0',
        NetworkName: 'aws-cni',
      }),
    );
    client.close();
    expect(reply.Success).toBe(true);
    expect(reply.IPAllocationMetadata[0]?.IPv4Addr).toBe('10.0.1.5');
    expect(seen.at(-1)?.ContainerID).toBe('c1');
  });

  it('round-trips over loopback TCP', async () => {
    const client = new RpcClient({ endpoint: `127.0.0.1:${tcpPort}` });
    const reply = await client.call(
      CNIBackend.AddNetwork,
      CNIBackend.AddNetwork.request.fromPartial({ ContainerID: 'c2' }),
    );
    client.close();
    expect(reply.IPAllocationMetadata[0]?.RouteTableId).toBe(2);
  });

  it('surfaces server errors with code and message', async () => {
    const client = new RpcClient({ endpoint: socket });
    const err = await client
      .call(CNIBackend.DelNetwork, CNIBackend.DelNetwork.request.fromPartial({}))
      .catch((e) => e);
    client.close();
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(GrpcStatus.UNKNOWN);
    expect(err.details).toContain('datastore: unknown pod');
  });

  it('enforces the deadline', async () => {
    const client = new RpcClient({ endpoint: socket, deadlineMs: 200 });
    const err = await client
      .call(CNIBackend.AddNetwork, CNIBackend.AddNetwork.request.fromPartial({ ContainerID: 'slow' }))
      .catch((e) => e);
    client.close();
    expect(err.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
  });

  it('reports UNAVAILABLE when nothing listens', async () => {
    const client = new RpcClient({ endpoint: join(dir, 'missing.sock') });
    const err = await client.call(Health.Check, { service: '' }).catch((e) => e);
    client.close();
    expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
  });

  it('answers health checks: SERVING for "" and NOT_FOUND for unknown services', async () => {
    const client = new RpcClient({ endpoint: socket });
    expect((await client.call(Health.Check, { service: '' })).status).toBe(ServingStatus.SERVING);
    const err = await client.call(Health.Check, { service: 'nope' }).catch((e) => e);
    client.close();
    expect(err.code).toBe(GrpcStatus.NOT_FOUND);
  });

  it('refuses a non-loopback TCP address', () => {
    expect(() => new RpcServer({ tcpAddress: '0.0.0.0:50051' })).toThrow(/non-loopback/);
  });
});
