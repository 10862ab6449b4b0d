// The light HTTP/2 client against node:http2 (nghttp2) servers doing what real servers may do: padded frames,
// header blocks split over CONTINUATION frames, every static-table header name, Huffman-coded values with
// non-ASCII bytes, server PING, RST_STREAM and GOAWAY.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createServer,
  constants,
  type Http2Server,
  type ServerHttp2Stream,
  type ServerOptions,
} from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Health, GrpcStatus, RpcClient, RpcError } from './index.js';
import { H2Connection } from './h2-connection.js';
import type { HeaderList } from './hpack.js';
import { ffiUnixTransport } from './ffi-transport.js';
import { netTransport, type H2Transport, type Target } from './transport.js';

// Every test runs over both transports: node:net, and the libc socket aws-cni uses.
type Factory = ((t: Target) => H2Transport | undefined) | undefined;
const transports: Array<[string, Factory]> = [
  ['node:net', undefined],
  ['libc', (t) => ('socketPath' in t ? ffiUnixTransport(t.socketPath) : undefined)],
];
let transport: Factory;

const dir = mkdtempSync(join(tmpdir(), 'vct-h2-'));
let server: Http2Server | undefined;
let n = 0;

async function serve(
  onStream: (stream: ServerHttp2Stream, headers: Record<string, unknown>) => void,
  options: ServerOptions = {},
): Promise<string> {
  const socket = join(dir, `s${(n += 1)}.sock`);
  server = createServer(options);
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {}); // resets the tests cause on purpose
    onStream(stream, headers);
  });
  await new Promise<void>((r) => server?.listen(socket, r));
  return socket;
}

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise((r) => s.close(r));
});
// afterAll, not process.on('exit'): a vitest worker does not always exit, and the directory stayed behind.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A healthy gRPC reply body for Health.Check (status SERVING). */
const servingBody = () => {
  const msg = Health.Check.response.encode({ status: 1 }).finish();
  const out = Buffer.alloc(5 + msg.length);
  out.writeUInt32BE(msg.length, 1);
  out.set(msg, 5);
  return out;
};

function rawCall(
  socket: string,
  request = Buffer.from('hi'),
): Promise<{ blocks: Array<{ list: HeaderList; end: boolean }>; body: Buffer; err?: string }> {
  const target = { socketPath: socket };
  const conn = new H2Connection(transport?.(target) ?? netTransport(target));
  const blocks: Array<{ list: HeaderList; end: boolean }> = [];
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    conn.request(
      [
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', '/x'],
        [':authority', 'l'],
      ],
      request,
      {
        headers: (list, end) => blocks.push({ list, end }),
        data: (c) => chunks.push(c),
        end: (err) => {
          conn.close();
          resolve({ blocks, body: Buffer.concat(chunks), ...(err ? { err: err.message } : {}) });
        },
      },
    );
  });
}

describe.each(transports)('H2Connection against nghttp2 over %s', (_name, factory) => {
  beforeEach(() => {
    transport = factory;
  });
  it('decodes every static-table name, Huffman and non-ASCII values, padded frames and CONTINUATION', async () => {
    const latin = Buffer.from([
      0x09,
      ...Array.from({ length: 95 }, (_, i) => 0x20 + i),
      0x80,
      0xa9,
      0xff,
    ]).toString('latin1');
    const names = [
      'accept-charset',
      'accept-language',
      'age',
      'allow',
      'cache-control',
      'content-language',
      'content-location',
      'date',
      'etag',
      'expires',
      'link',
      'location',
      'retry-after',
      'server',
      'vary',
      'via',
      'www-authenticate',
    ];
    const big = 'b'.repeat(40_000); // more than two max-size frames: HEADERS + CONTINUATION
    let sawBody = '';
    const socket = await serve(
      (stream) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          sawBody = Buffer.concat(chunks).toString();
          const headers: Record<string, string> = { ':status': '200', 'x-latin': latin, 'x-big': big };
          for (const name of names) headers[name] = `v-${name}`;
          stream.respond(headers, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-latin': latin }));
          stream.end(Buffer.alloc(200_000, 7));
        });
      },
      { paddingStrategy: constants.PADDING_STRATEGY_MAX, settings: { maxHeaderListSize: 1 << 20 } },
    );
    const r = await rawCall(socket);
    expect(r.err).toBeUndefined();
    expect(sawBody).toBe('hi');
    expect(r.blocks).toHaveLength(2);
    const first = new Map(r.blocks[0]?.list);
    expect(first.get(':status')).toBe('200');
    expect(first.get('x-latin')).toBe(latin);
    expect(first.get('x-big')).toBe(big);
    for (const name of names) expect(first.get(name)).toBe(`v-${name}`);
    expect(r.blocks[1]).toEqual({
      list: [
        ['grpc-status', '0'],
        ['x-latin', latin],
      ],
      end: true,
    });
    expect(r.body).toEqual(Buffer.alloc(200_000, 7)); // beyond the default 64 KiB window: ours is opened wide
  });

  it('answers a server PING and still completes the call', async () => {
    const socket = await serve((stream) => {
      stream.session?.ping(Buffer.from('12345678'), (err, ms) => {
        stream.respond(
          { ':status': '200', 'grpc-status': '0', 'x-ping': err ? 'failed' : `ok ${ms >= 0}` },
          {
            endStream: true,
          },
        );
      });
    });
    const r = await rawCall(socket);
    expect(r.blocks[0]?.list).toContainEqual(['x-ping', 'ok true']);
  });

  it('maps RST_STREAM and GOAWAY to gRPC codes', async () => {
    let mode: 'refuse' | 'goaway' | 'cancel' = 'refuse';
    const socket = await serve((stream) => {
      if (mode === 'refuse') stream.close(constants.NGHTTP2_REFUSED_STREAM);
      else if (mode === 'cancel') stream.close(constants.NGHTTP2_CANCEL);
      else {
        // going away without answering: the connection ends and the call must not wait for its deadline
        stream.session?.goaway(constants.NGHTTP2_NO_ERROR, 0);
        setTimeout(() => stream.session?.destroy(), 20);
      }
    });
    const call = async () => {
      const c = new RpcClient({ endpoint: socket, deadlineMs: 2_000, transport });
      const e = (await c.call(Health.Check, { service: '' }).catch((x: unknown) => x)) as RpcError;
      c.close();
      return e;
    };
    expect((await call()).code).toBe(GrpcStatus.UNAVAILABLE);
    mode = 'cancel';
    expect((await call()).code).toBe(GrpcStatus.CANCELLED);
    mode = 'goaway';
    const gone = await call();
    expect(gone).toBeInstanceOf(RpcError);
    expect(gone.code).toBe(GrpcStatus.UNAVAILABLE);
  });

  it('reads a trailers-only error, percent-decoded, and a reply split over several DATA frames', async () => {
    let fail = true;
    const socket = await serve((stream) => {
      if (fail) {
        stream.respond(
          {
            ':status': '200',
            'content-type': 'application/grpc',
            'grpc-status': '14',
            'grpc-message': 'no%20ENI%20slots%20left%3A%203%2F3',
          },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ':status': '200', 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      const body = servingBody();
      stream.write(body.subarray(0, 3));
      setTimeout(() => stream.end(body.subarray(3)), 20);
    });
    const c = new RpcClient({ endpoint: socket, transport });
    const e = (await c.call(Health.Check, { service: '' }).catch((x: unknown) => x)) as RpcError;
    expect(e.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(e.details).toBe('no ENI slots left: 3/3');
    fail = false;
    expect(await c.call(Health.Check, { service: '' })).toEqual({ status: 1 });
    // two calls in flight on one connection
    const both = await Promise.all([
      c.call(Health.Check, { service: 'a' }),
      c.call(Health.Check, { service: 'b' }),
    ]);
    expect(both).toEqual([{ status: 1 }, { status: 1 }]);
    c.close();
  });

  describe('flow control: request bodies larger than the peer windows (issue 22, defect 6)', () => {
    /** A server that reads the whole body and answers with its length and a checksum. */
    const echoServer = (options: ServerOptions = {}) =>
      serve((stream) => {
        const parts: Buffer[] = [];
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('end', () => {
          const body = Buffer.concat(parts);
          stream.respond({ ':status': '200', 'x-len': String(body.length), 'x-sum': checksum(body) });
          stream.end();
        });
      }, options);
    const checksum = (b: Buffer) =>
      String(b.reduce((a, x, i) => (a + x * ((i % 251) + 1)) % 1_000_000_007, 0));
    const bodyOf = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
    const header = (r: Awaited<ReturnType<typeof rawCall>>, name: string) =>
      r.blocks[0]?.list.find(([k]) => k === name)?.[1];

    it('sends 1 MiB over the default 65,535-byte windows, waiting for WINDOW_UPDATE', async () => {
      const socket = await echoServer();
      const body = bodyOf(1024 * 1024);
      const r = await rawCall(socket, body);
      expect(r.err).toBeUndefined();
      expect([header(r, 'x-len'), header(r, 'x-sum')]).toEqual([String(body.length), checksum(body)]);
    });

    it('obeys a small SETTINGS_INITIAL_WINDOW_SIZE and a larger SETTINGS_MAX_FRAME_SIZE', async () => {
      const socket = await echoServer({ settings: { initialWindowSize: 1_000, maxFrameSize: 65_536 } });
      const body = bodyOf(300_000);
      const r = await rawCall(socket, body);
      expect(r.err).toBeUndefined();
      expect([header(r, 'x-len'), header(r, 'x-sum')]).toEqual([String(body.length), checksum(body)]);
    });

    it('uses a window the server enlarges, and several large requests share one connection', async () => {
      const socket = await echoServer({ settings: { initialWindowSize: 4 * 1024 * 1024 } });
      const c = new RpcClient({ endpoint: socket, transport });
      const seen: string[] = [];
      server?.removeAllListeners('stream');
      server?.on('stream', (stream) => {
        const parts: Buffer[] = [];
        stream.on('data', (x: Buffer) => parts.push(x));
        stream.on('end', () => {
          const req = Health.Check.request.decode(Buffer.concat(parts).subarray(5));
          seen.push(`${req.service.length}:${req.service.slice(0, 3)}`);
          stream.respond({ ':status': '200', 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(servingBody());
        });
      });
      const replies = await Promise.all(
        ['a', 'b', 'c'].map((x) => c.call(Health.Check, { service: x.repeat(200_000 + x.charCodeAt(0)) })),
      );
      c.close();
      expect(replies).toEqual([{ status: 1 }, { status: 1 }, { status: 1 }]);
      expect(seen.sort()).toEqual(['200097:aaa', '200098:bbb', '200099:ccc']);
    });

    it('refuses a message over the 4 MiB gRPC limit with a clear error, sending nothing', async () => {
      let streams = 0;
      const socket = await serve(() => (streams += 1));
      const c = new RpcClient({ endpoint: socket, transport });
      const e = (await c
        .call(Health.Check, { service: 'x'.repeat(4 * 1024 * 1024) })
        .catch((x: unknown) => x)) as RpcError;
      c.close();
      expect(e).toBeInstanceOf(RpcError);
      expect(e.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      expect(e.details).toMatch(/^request of 419430\d bytes is over the 4194304-byte gRPC message limit$/);
      expect(streams).toBe(0);
    });
  });
});
