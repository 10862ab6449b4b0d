// The light http2 client against the grpc-js server helper over a real unix socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcServer, ServingStatus } from '../rpc-server/index.js';
import {
  CNIBackend,
  CNIGarbageCollector,
  GrpcStatus,
  Health,
  RpcClient,
  RpcError,
  type AddNetworkRequest,
  type DelNetworkRequest,
} from './index.js';
import { ffiUnixTransport } from './ffi-transport.js';
import type { Target } from './transport.js';

const dir = mkdtempSync(join(tmpdir(), 'vct-rpc-'));
const socket = join(dir, 'sub', 'ipamd.sock');
const server = new RpcServer({ unixSocket: socket, tcpAddress: '127.0.0.1:0' });
let tcpPort = 0;
const seen: AddNetworkRequest[] = [];
const dels: DelNetworkRequest[] = [];

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
    DelNetwork: async (req) => {
      dels.push(req);
      throw new RpcError(GrpcStatus.UNKNOWN, 'datastore: unknown pod', 'DelNetwork');
    },
  });
  server.addService(CNIGarbageCollector, {
    GarbageCollect: async (req) =>
      CNIGarbageCollector.GarbageCollect.response.fromPartial({
        Success: true,
        Released: [
          { ContainerID: `${req.ValidAttachments.length}`, IfName: req.ValidAttachments.at(-1)?.IfName },
        ],
      }),
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

describe('RpcClient over the libc unix socket (aws-cni)', () => {
  const transport = (t: Target) => ('socketPath' in t ? ffiUnixTransport(t.socketPath) : undefined);

  it('round-trips several calls on one connection, and server errors keep their code and message', async () => {
    const client = new RpcClient({ endpoint: `unix://${socket}`, transport });
    for (const id of ['f1', 'f2', 'f3']) {
      const reply = await client.call(
        CNIBackend.AddNetwork,
        CNIBackend.AddNetwork.request.fromPartial({ ContainerID: id }),
      );
      expect(reply.IPAllocationMetadata[0]?.IPv4Addr).toBe('10.0.1.5');
      expect(seen.at(-1)?.ContainerID).toBe(id);
    }
    await client.connected();
    const err = await client
      .call(CNIBackend.DelNetwork, CNIBackend.DelNetwork.request.fromPartial({}))
      .catch((e) => e);
    expect((await client.call(Health.Check, { service: '' })).status).toBe(ServingStatus.SERVING);
    client.close();
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe(GrpcStatus.UNKNOWN);
    expect(err.details).toContain('datastore: unknown pod');
  });

  it('runs other work on the event loop while a reply is awaited, and still meets the deadline', async () => {
    const client = new RpcClient({ endpoint: socket, deadlineMs: 300, transport });
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    const t0 = Date.now();
    const err = await client
      .call(CNIBackend.AddNetwork, CNIBackend.AddNetwork.request.fromPartial({ ContainerID: 'slow' }))
      .catch((e) => e);
    clearInterval(ticker);
    client.close();
    expect(err.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).toBeLessThan(1_500); // the 2 s handler is not waited for
    expect(ticks).toBeGreaterThan(3); // timers ran between poll slices
  });

  it('names the cause when nothing listens: a missing socket file, a file nobody accepts on', async () => {
    const missing = new RpcClient({ endpoint: join(dir, 'missing.sock'), transport });
    const e1 = await missing.call(Health.Check, { service: '' }).catch((e) => e);
    missing.close();
    expect(e1.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(e1.details).toContain(`connect ENOENT ${join(dir, 'missing.sock')}`);

    const stale = join(dir, 'stale.sock');
    const s2 = new RpcServer({ unixSocket: stale });
    await s2.start();
    await s2.stop(100); // leaves no listener; recreate the path as a plain file
    const { writeFileSync } = await import('node:fs');
    writeFileSync(stale, '');
    const refused = new RpcClient({ endpoint: stale, transport });
    const e2 = await refused.call(Health.Check, { service: '' }).catch((e) => e);
    refused.close();
    expect(e2.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(e2.details).toMatch(/connect (ECONNREFUSED|ENOENT)/);
  });

  it('a TCP endpoint falls back to node:net', async () => {
    const client = new RpcClient({ endpoint: `127.0.0.1:${tcpPort}`, transport });
    const reply = await client.call(Health.Check, { service: '' });
    client.close();
    expect(reply.status).toBe(ServingStatus.SERVING);
  });

  it('large requests reach grpc-js over both transports: GC of 50,000 attachments, a 100 KB container id', async () => {
    for (const transport of [
      undefined,
      (t: Target) => ('socketPath' in t ? ffiUnixTransport(t.socketPath) : undefined),
    ]) {
      const client = new RpcClient({ endpoint: `unix://${socket}`, transport });
      const ValidAttachments = Array.from({ length: 50_000 }, (_, i) => ({
        ContainerID: `c${i}`.padEnd(64, '0'),
        IfName: `eth${i}`,
      }));
      const gc = await client.call(CNIGarbageCollector.GarbageCollect, {
        NetworkName: 'aws-cni',
        ValidAttachments,
        MinAgeSeconds: 0,
      });
      expect(gc.Released).toEqual([expect.objectContaining({ ContainerID: '50000', IfName: 'eth49999' })]);
      const long = 'd'.repeat(100_000);
      const e = await client
        .call(CNIBackend.DelNetwork, { ContainerID: long } as DelNetworkRequest)
        .catch((x: unknown) => x);
      client.close();
      expect(e).toMatchObject({ details: 'datastore: unknown pod' });
      expect(dels.at(-1)?.ContainerID).toBe(long);
    }
  });
});
