// Fuzzing what a client can send the gRPC server (on node:http2 and on our own HTTP/2 framing) (seeded, so a failure reproduces): random request
// bodies and headers get a gRPC status, never a crash or a call left hanging; random bytes after the HTTP/2
// preface end at most that connection; the wire helpers only ever answer with their typed results.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as h2Connect, type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcServer, ServingStatus } from '../rpc-server/index.js';
import { CNIBackend, GrpcStatus, Health, RpcClient } from './index.js';
import { encodeGrpcMessage, parseGrpcTimeout, unaryMessage } from './grpc-wire.js';

const SEED = 0x5eed_19;
/** Same seed every run; a loaded machine stops early (after 4 s) instead of timing out, still green. */
const BOUND = { seed: SEED, interruptAfterTimeLimit: 4_000, markInterruptAsFailure: false };
const codes = new Set<number>(Object.values(GrpcStatus));

describe('gRPC wire helpers fuzz', () => {
  it('unaryMessage: random bodies give the message or a failure with a gRPC code, never a throw', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.option(fc.constantFrom('identity', 'gzip', 'deflate', ''), { nil: undefined }),
        (bytes, encoding) => {
          const r = unaryMessage(Buffer.from(bytes), encoding);
          if (r instanceof Uint8Array) {
            expect(bytes[0]).toBe(0);
            expect(r.length).toBe(bytes.length - 5);
          } else {
            expect(codes.has(r.code)).toBe(true);
            expect(r.details.length).toBeGreaterThan(0);
          }
        },
      ),
      { ...BOUND, numRuns: 500 },
    );
  });

  it('parseGrpcTimeout: any string gives a number ≥ 0 or an Error; valid ones parse exactly', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (s) => {
        const r = parseGrpcTimeout(s);
        expect(r instanceof Error || (typeof r === 'number' && r >= 0)).toBe(true);
      }),
      { ...BOUND, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), fc.constantFrom('S', 'm'), (n, unit) => {
        expect(parseGrpcTimeout(`${n}${unit}`)).toBe(unit === 'S' ? n * 1000 : n);
      }),
      { ...BOUND, numRuns: 200 },
    );
    // Accepted exactly when the grammar matches (1-8 ASCII digits, one unit), on strings near it.
    const near = fc.string({
      unit: fc.constantFrom('0', '1', '9', 'H', 'M', 'S', 'm', 'u', 'n', 'x', ' ', '\n', '-', '٣'),
      maxLength: 11,
    });
    fc.assert(
      fc.property(near, (s) => {
        expect(parseGrpcTimeout(s) instanceof Error).toBe(!/^\d{1,8}[HMSmun]$/.test(s));
      }),
      { ...BOUND, numRuns: 500 },
    );
  });

  it('encodeGrpcMessage: printable ASCII out, and percent-decoding gives the text back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 24 }), (s) => {
        const wire = encodeGrpcMessage(s);
        expect(/^[\x20-\x7e]*$/.test(wire)).toBe(true);
        // Lone surrogates cannot be UTF-8; Buffer writes U+FFFD for them, so compare with that.
        expect(decodeURIComponent(wire)).toBe(Buffer.from(s, 'utf8').toString('utf8'));
      }),
      { ...BOUND, numRuns: 200 },
    );
  });
});

describe.each(['node', 'own'] as const)('gRPC server fuzz, %s HTTP/2', (http2) => {
  const dir = mkdtempSync(join(tmpdir(), 'vct-h2fuzz-'));
  const socket = join(dir, 'ipamd.sock');
  const server = new RpcServer({ unixSocket: socket, http2 });
  let session: ClientHttp2Session;

  beforeAll(async () => {
    server.addService(CNIBackend, {
      AddNetwork: async (req) =>
        CNIBackend.AddNetwork.response.fromPartial({ Success: req.ContainerID !== '' }),
      DelNetwork: async () => CNIBackend.DelNetwork.response.fromPartial({ Success: true }),
    });
    server.health.set('', ServingStatus.SERVING);
    await server.start();
    session = h2Connect('http://localhost', { createConnection: () => netConnect(socket) });
  });
  afterAll(async () => {
    session.close();
    await server.stop(500);
    rmSync(dir, { recursive: true, force: true });
  });

  const serving = async (): Promise<boolean> => {
    const c = new RpcClient({ endpoint: socket, deadlineMs: 5_000 });
    try {
      return (await c.call(Health.Check, { service: '' })).status === ServingStatus.SERVING;
    } finally {
      c.close();
    }
  };

  it('random bodies, paths and grpc-timeouts: every call ends with a grpc-status', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 80 }),
        fc.constantFrom(
          '/rpc.CNIBackend/AddNetwork',
          '/rpc.CNIBackend/DelNetwork',
          '/grpc.health.v1.Health/Check',
          '/x',
          '',
        ),
        fc.option(fc.oneof(fc.constantFrom('1S', '100m', '0n', '99999999H'), fc.string({ maxLength: 6 })), {
          nil: undefined,
        }),
        fc.boolean(),
        async (body, path, timeout, framedBody) => {
          const payload = framedBody
            ? Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), Buffer.from(body)])
            : Buffer.from(body);
          const headers: Record<string, string> = {
            ':method': 'POST',
            ':path': path || '/',
            'content-type': 'application/grpc',
            ...(timeout === undefined ? {} : { 'grpc-timeout': timeout }),
          };
          const status = await new Promise<string>((resolve, reject) => {
            let s = '';
            const req = session.request(headers, { endStream: false });
            req.on('response', (h) => (s = String(h['grpc-status'] ?? s)));
            req.on('trailers', (t) => (s = String(t['grpc-status'] ?? s)));
            req.on('data', () => {});
            req.on('end', () => resolve(s));
            req.on('error', reject);
            req.end(payload);
          });
          expect(codes.has(Number(status)) && status !== '').toBe(true);
        },
      ),
      { ...BOUND, numRuns: 100 },
    );
    expect(await serving()).toBe(true);
  });

  it('random bytes after the preface: that connection may end, the server keeps serving', async () => {
    const preface = Buffer.concat([
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
      Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
    ]);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 120 }), async (junk) => {
        const sock = netConnect(socket);
        sock.on('error', () => {});
        sock.on('data', () => {});
        const closed = new Promise<void>((r) => sock.on('close', () => r()));
        sock.write(Buffer.concat([preface, Buffer.from(junk)]));
        // Either the server ends the connection, or it is still waiting for more: we hang up after a moment.
        await Promise.race([closed, new Promise((r) => setTimeout(r, 20))]);
        sock.destroy();
        await closed;
      }),
      { ...BOUND, numRuns: 60 },
    );
    expect(await serving()).toBe(true);
  });

  it('random frames (any type, flags, stream and payload): the connection lives and answers PING, or ends with GOAWAY', async () => {
    const preface = Buffer.concat([
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
      Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
    ]);
    const frameOf = (type: number, flags: number, stream: number, payload: Uint8Array) => {
      const f = Buffer.alloc(9 + payload.length);
      f.writeUIntBE(payload.length, 0, 3);
      f[3] = type;
      f[4] = flags;
      f.writeUInt32BE(stream >>> 0, 5);
      f.set(payload, 9);
      return f;
    };
    // Mostly the defined types (0-9) with payloads of their fixed sizes now and then, so checks past the size
    // are reached too; stream ids that are 0, odd (client), even, or arbitrary.
    const aFrame = fc
      .record({
        type: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 255 })),
        flags: fc.oneof(fc.constantFrom(0, 1, 4, 5, 8, 0x20, 0x25), fc.integer({ min: 0, max: 255 })),
        stream: fc.oneof(fc.constantFrom(0, 1, 2, 3, 5), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
        size: fc.constantFrom(undefined, 0, 4, 5, 6, 8),
        payload: fc.uint8Array({ maxLength: 40 }),
      })
      .map(({ type, flags, stream, size, payload }) =>
        frameOf(
          type,
          flags,
          stream,
          size === undefined
            ? payload
            : Buffer.concat([Buffer.from(payload), Buffer.alloc(size)]).subarray(0, size),
        ),
      );
    const seen = { alive: 0, goaway: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(aFrame, { minLength: 1, maxLength: 6 }), async (frames) => {
        const sock = netConnect(socket);
        sock.on('error', () => {});
        let inbox = Buffer.alloc(0);
        const types: number[] = [];
        let goaway: number | undefined;
        let pinged = false;
        sock.on('data', (d: Buffer) => {
          inbox = Buffer.concat([inbox, d]);
          while (inbox.length >= 9 && inbox.length >= 9 + inbox.readUIntBE(0, 3)) {
            const len = inbox.readUIntBE(0, 3);
            const type = inbox[3] as number;
            types.push(type);
            if (type === 7 && len >= 8) goaway = inbox.readUInt32BE(9 + 4);
            if (
              type === 6 &&
              (inbox[4] as number) & 1 &&
              inbox.subarray(9, 17).toString('latin1') === 'fuzzping'
            )
              pinged = true;
            inbox = inbox.subarray(9 + len);
          }
        });
        const closed = new Promise<void>((r) => sock.on('close', () => r()));
        sock.write(Buffer.concat([preface, ...frames]));
        await Promise.race([closed, new Promise((r) => setTimeout(r, 20))]);
        if (!sock.destroyed && goaway === undefined) {
          // Still open: it must still be answering (no hang, no half-dead state).
          sock.write(frameOf(6, 0, 0, Buffer.from('fuzzping', 'latin1')));
          for (let t = 0; t < 100 && !pinged && goaway === undefined && !sock.destroyed; t++)
            await Promise.race([closed, new Promise((r) => setTimeout(r, 10))]);
        }
        // A GOAWAY carries an HTTP/2 error code (RFC 9113 §7: 0x0-0xd).
        if (goaway !== undefined) expect(goaway).toBeLessThanOrEqual(0xd);
        expect(pinged || goaway !== undefined || sock.destroyed).toBe(true);
        if (pinged) seen.alive++;
        if (goaway !== undefined) seen.goaway++;
        sock.destroy();
        await closed;
      }),
      { ...BOUND, numRuns: 150 },
    );
    // Both outcomes were exercised: frames the server lives with, and protocol errors it ends with GOAWAY.
    expect(seen.alive).toBeGreaterThan(0);
    expect(seen.goaway).toBeGreaterThan(0);
    expect(await serving()).toBe(true);
  });
});
