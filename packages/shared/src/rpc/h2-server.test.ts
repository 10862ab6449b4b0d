// The gRPC server (./h2-server.ts, ./server.ts) on the wire, on each HTTP/2 it can run on (node:http2's, and our
// own framing over node:net, ./h2-session.ts): @grpc/grpc-js as a client (what a grpc-go/grpc-js peer such as
// upstream's plugin or grpc-health-probe sends), and raw HTTP/2 for bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as h2Connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RpcServer, ServingStatus } from '../rpc-server/index.js';
import {
  CNIBackend,
  GrpcStatus,
  Health,
  RpcClient,
  RpcError,
  toGrpcServiceDefinition,
  type AddNetworkReply,
  type AddNetworkRequest,
  type HealthCheckResponse,
} from './index.js';
import { MAX_MESSAGE_BYTES } from './grpc-wire.js';

describe.each(['node', 'own'] as const)('%s HTTP/2', (http2) => {
  const dir = mkdtempSync(join(tmpdir(), 'vct-h2srv-'));
  const socket = join(dir, 'ipamd.sock');
  const server = new RpcServer({ unixSocket: socket, http2 });
  const seen: AddNetworkRequest[] = [];

  beforeAll(async () => {
    server.addService(CNIBackend, {
      AddNetwork: async (req) => {
        seen.push(req);
        if (req.ContainerID === 'slow') await new Promise((r) => setTimeout(r, 1_500));
        if (req.ContainerID === 'fail')
          throw new RpcError(GrpcStatus.FAILED_PRECONDITION, 'no address: ENI ø full 100%', 'AddNetwork');
        if (req.ContainerID === 'throw') throw new TypeError('handler bug');
        return CNIBackend.AddNetwork.response.fromPartial({
          Success: true,
          IPAllocationMetadata: [{ IPv4Addr: '10.0.1.5', DeviceNumber: 1, RouteTableId: 2 }],
        });
      },
      DelNetwork: async () => CNIBackend.DelNetwork.response.fromPartial({ Success: true }),
    });
    server.health.set('', ServingStatus.SERVING);
    server.health.set('aws-node', ServingStatus.NOT_SERVING);
    await server.start();
  });

  afterAll(async () => {
    await server.stop(500);
    rmSync(dir, { recursive: true, force: true });
  });

  // grpc-js client over the generated descriptors.
  const CniClient = grpc.makeGenericClientConstructor(toGrpcServiceDefinition(CNIBackend), 'CNIBackend');
  const HealthClient = grpc.makeGenericClientConstructor(toGrpcServiceDefinition(Health), 'Health');
  type Unary<Req, Res> = (
    req: Req,
    opts: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null, r?: Res) => void,
  ) => void;

  function grpcCall<Req, Res>(client: grpc.Client, name: string, req: Req, deadlineMs = 5_000): Promise<Res> {
    const fn = (client as unknown as Record<string, Unary<Req, Res>>)[name] as Unary<Req, Res>;
    return new Promise((resolve, reject) =>
      fn.call(client, req, { deadline: Date.now() + deadlineMs }, (e, r) =>
        e ? reject(e) : resolve(r as Res),
      ),
    );
  }

  describe('grpc-js client → the server', () => {
    const cni = new CniClient(`unix://${socket}`, grpc.credentials.createInsecure());
    const health = new HealthClient(`unix://${socket}`, grpc.credentials.createInsecure());
    afterAll(() => {
      cni.close();
      health.close();
    });

    it('AddNetwork round-trips: request fields in, reply fields out', async () => {
      const reply = await grpcCall<AddNetworkRequest, AddNetworkReply>(
        cni,
        'AddNetwork',
        CNIBackend.AddNetwork.request.fromPartial({
          ContainerID: 'grpcjs-1',
          IfName: 'eth0',
          K8S_POD_NAME: 'p',
        }),
      );
      expect(reply.Success).toBe(true);
      expect(reply.IPAllocationMetadata[0]).toMatchObject({
        IPv4Addr: '10.0.1.5',
        DeviceNumber: 1,
        RouteTableId: 2,
      });
      expect(seen.at(-1)).toMatchObject({ ContainerID: 'grpcjs-1', IfName: 'eth0', K8S_POD_NAME: 'p' });
    });

    it('a handler error keeps its code, and a non-ASCII message survives percent-encoding', async () => {
      const e = await grpcCall(cni, 'AddNetwork', { ContainerID: 'fail' }).catch((x: grpc.ServiceError) => x);
      expect(e).toMatchObject({
        code: GrpcStatus.FAILED_PRECONDITION,
        details: 'no address: ENI ø full 100%',
      });
      const t = await grpcCall(cni, 'AddNetwork', { ContainerID: 'throw' }).catch(
        (x: grpc.ServiceError) => x,
      );
      expect(t).toMatchObject({ code: GrpcStatus.UNKNOWN, details: 'handler bug' });
    });

    it("the client's deadline (grpc-timeout) ends a slow call with DEADLINE_EXCEEDED", async () => {
      const e = await grpcCall(cni, 'AddNetwork', { ContainerID: 'slow' }, 200).catch(
        (x: grpc.ServiceError) => x,
      );
      expect(e).toMatchObject({ code: GrpcStatus.DEADLINE_EXCEEDED });
    });

    it('an unknown method is UNIMPLEMENTED', async () => {
      const e = await new Promise<grpc.ServiceError>((resolve) =>
        cni.makeUnaryRequest(
          '/rpc.CNIBackend/NoSuchMethod',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          (err) => resolve(err as grpc.ServiceError),
        ),
      );
      expect(e).toMatchObject({ code: GrpcStatus.UNIMPLEMENTED });
      expect(e.details).toContain('/rpc.CNIBackend/NoSuchMethod');
    });

    it('Health: Check per service (NOT_FOUND for an unknown one) and Watch streams each change', async () => {
      expect(await grpcCall<object, HealthCheckResponse>(health, 'Check', { service: '' })).toEqual({
        status: ServingStatus.SERVING,
      });
      const nf = await grpcCall(health, 'Check', { service: 'nope' }).catch((x: grpc.ServiceError) => x);
      expect(nf).toMatchObject({ code: GrpcStatus.NOT_FOUND });

      const watch = (
        health as unknown as Record<string, (r: object) => grpc.ClientReadableStream<HealthCheckResponse>>
      ).Watch as (r: object) => grpc.ClientReadableStream<HealthCheckResponse>;
      const call = watch.call(health, { service: 'aws-node' });
      const got: number[] = [];
      await new Promise<void>((resolve) => {
        call.on('data', (m: HealthCheckResponse) => {
          got.push(m.status);
          if (got.length === 1) server.health.set('aws-node', ServingStatus.SERVING);
          if (got.length === 2) resolve();
        });
      });
      call.on('error', () => {}); // CANCELLED, by us
      call.cancel();
      expect(got).toEqual([ServingStatus.NOT_SERVING, ServingStatus.SERVING]);
    });
  });

  /** One raw HTTP/2 request; resolves with the response headers, trailers and body. */
  function raw(
    session: ClientHttp2Session,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = session.request(headers, { endStream: false });
      const out: { headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; chunks: Buffer[] } = {
        headers: {},
        trailers: {},
        chunks: [],
      };
      req.on('response', (h) => (out.headers = h));
      req.on('trailers', (t) => (out.trailers = t));
      req.on('data', (c: Buffer) => out.chunks.push(c));
      req.on('end', () =>
        resolve({ headers: out.headers, trailers: out.trailers, body: Buffer.concat(out.chunks) }),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  const grpcHeaders = (path: string, extra: Record<string, string> = {}) => ({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...extra,
  });

  /** grpc-status/grpc-message of a response: from a trailers-only response's headers, or the trailers. */
  const statusOf = (r: { headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders }) => ({
    code: Number(r.trailers['grpc-status'] ?? r.headers['grpc-status']),
    message: decodeURIComponent(String(r.trailers['grpc-message'] ?? r.headers['grpc-message'] ?? '')),
  });

  const framed = (flag: number, len: number, bytes: Buffer) => {
    const b = Buffer.alloc(5 + bytes.length);
    b[0] = flag;
    b.writeUInt32BE(len, 1);
    bytes.copy(b, 5);
    return b;
  };

  describe('bad input on the wire', () => {
    let session: ClientHttp2Session;
    beforeAll(() => {
      session = h2Connect('http://localhost', { createConnection: () => netConnect(socket) });
    });
    afterAll(() => session.close());
    const add = '/rpc.CNIBackend/AddNetwork';
    const ok = Buffer.from(
      CNIBackend.AddNetwork.request.encode({ ContainerID: 'raw' } as AddNetworkRequest).finish(),
    );

    it('a well-formed raw call gets 200, one framed reply and grpc-status 0 in trailers', async () => {
      const r = await raw(session, grpcHeaders(add), framed(0, ok.length, ok));
      expect(r.headers[':status']).toBe(200);
      expect(r.headers['content-type']).toBe('application/grpc');
      expect(r.trailers['grpc-status']).toBe('0');
      expect(CNIBackend.AddNetwork.response.decode(r.body.subarray(5)).Success).toBe(true);
    });

    it.each([
      ['no message', Buffer.alloc(0), {}, GrpcStatus.UNIMPLEMENTED, /no message/],
      ['a truncated frame header', Buffer.from([0, 0]), {}, GrpcStatus.INTERNAL, /truncated/],
      ['a truncated message', framed(0, 100, Buffer.alloc(10)), {}, GrpcStatus.INTERNAL, /10 of 100/],
      [
        'two messages',
        Buffer.concat([framed(0, ok.length, ok), framed(0, ok.length, ok)]),
        {},
        GrpcStatus.UNIMPLEMENTED,
        /more than one/,
      ],
      [
        'a message declared over the limit',
        framed(0, MAX_MESSAGE_BYTES + 1, Buffer.alloc(0)),
        {},
        GrpcStatus.RESOURCE_EXHAUSTED,
        /larger than max/,
      ],
      [
        'gzip',
        framed(1, ok.length, ok),
        { 'grpc-encoding': 'gzip' },
        GrpcStatus.UNIMPLEMENTED,
        /gzip.*not supported/,
      ],
      ['an invalid flag', framed(7, ok.length, ok), {}, GrpcStatus.INTERNAL, /flag 7/],
      [
        'bytes that are not the request message',
        framed(0, 3, Buffer.from([0x0a, 0xff, 0xff])),
        {},
        GrpcStatus.INTERNAL,
        /cannot decode/,
      ],
      [
        'a malformed grpc-timeout',
        framed(0, ok.length, ok),
        { 'grpc-timeout': '5x' },
        GrpcStatus.INTERNAL,
        /grpc-timeout/,
      ],
    ])('%s → a gRPC error, and the connection keeps serving', async (_name, body, extra, code, message) => {
      const r = await raw(session, grpcHeaders(add, extra), body);
      expect(r.headers[':status']).toBe(200);
      const s = statusOf(r);
      expect(s.code).toBe(code);
      expect(s.message).toMatch(message);
      const again = await raw(session, grpcHeaders(add), framed(0, ok.length, ok));
      expect(again.trailers['grpc-status']).toBe('0');
    });

    it('a body over the message limit is refused with RESOURCE_EXHAUSTED before it is all read', async () => {
      const big = Buffer.alloc(MAX_MESSAGE_BYTES + 64 * 1024);
      const r = await raw(session, grpcHeaders(add), framed(0, MAX_MESSAGE_BYTES + 64 * 1024 - 5, big));
      expect(statusOf(r).code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    });

    it('not POST → 405, not application/grpc → 415', async () => {
      const get = await raw(session, { ':method': 'GET', ':path': add }, Buffer.alloc(0));
      expect(get.headers[':status']).toBe(405);
      const json = await raw(
        session,
        grpcHeaders(add, { 'content-type': 'application/json' }),
        Buffer.from('{}'),
      );
      expect(json.headers[':status']).toBe(415);
    });

    it('a client that resets its stream mid-call leaves the server serving', async () => {
      const req = session.request(grpcHeaders(add));
      req.on('error', () => {});
      req.write(Buffer.from([0, 0, 0, 1]));
      req.close(0x8);
      const c = new RpcClient({ endpoint: socket });
      expect((await c.call(Health.Check, { service: '' })).status).toBe(ServingStatus.SERVING);
      c.close();
    });

    it('garbage instead of HTTP/2 closes that connection only', async () => {
      for (const junk of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), Buffer.alloc(64, 0xff)]) {
        const sock = netConnect(socket);
        const closed = new Promise<void>((r) => sock.on('close', () => r()));
        sock.on('error', () => {});
        sock.on('data', () => {});
        sock.write(junk);
        await closed;
      }
      // A valid preface followed by a bad frame (DATA on stream 0): GOAWAY, connection closed.
      const sock = netConnect(socket);
      const closed = new Promise<void>((r) => sock.on('close', () => r()));
      sock.on('error', () => {});
      sock.on('data', () => {});
      sock.write(
        Buffer.concat([
          Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
          Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
        ]),
      );
      sock.write(Buffer.from([0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41]));
      await closed;
      const c = new RpcClient({ endpoint: socket });
      expect((await c.call(Health.Check, { service: '' })).status).toBe(ServingStatus.SERVING);
      c.close();
    });
  });
});
