// Fuzzing the bytes a server can send: the HTTP/2 frame reader and the HPACK decoder get random input (seeded, so a
// failure reproduces) and may only answer with their typed errors: never another exception, a hang or a handler
// that hears nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { H2Connection, H2Error, type StreamHandler } from './h2-connection.js';
import { HpackDecoder, HpackError, encodeHeaders, huffmanDecode } from './hpack.js';
import type { H2Transport, TransportEvents } from './transport.js';

const SEED = 0x5eed_18;
const RUNS = 300;
/** Same seed every run; a loaded machine stops early (after 4 s) instead of timing out, still green. */
const BOUND = { seed: SEED, interruptAfterTimeLimit: 4_000, markInterruptAsFailure: false };

/** A transport whose peer is the test: what the connection writes is dropped, `feed` delivers server bytes. */
function fakeTransport(): H2Transport & { feed(b: Buffer): void; hangUp(): void; destroyed: boolean } {
  let events: TransportEvents | undefined;
  const t = {
    destroyed: false,
    ready: Promise.resolve(),
    listen(e: TransportEvents) {
      events = e;
    },
    write() {},
    end() {},
    destroy() {
      t.destroyed = true;
    },
    feed(b: Buffer) {
      events?.data(b);
    },
    hangUp() {
      events?.close();
    },
  };
  return t;
}

interface Outcome {
  headers: number;
  ends: Array<H2Error | undefined>;
}

function handler(o: Outcome): StreamHandler {
  return {
    headers: () => void (o.headers += 1),
    data: () => {},
    end: (err) => void o.ends.push(err),
  };
}

const frameHeader = (len: number, type: number, flags: number, stream: number): Buffer => {
  const b = Buffer.alloc(9);
  b.writeUIntBE(len, 0, 3);
  b.writeUInt8(type, 3);
  b.writeUInt8(flags, 4);
  b.writeUInt32BE(stream >>> 0, 5);
  return b;
};

/** Well-framed frames of every type with random flags, streams and payloads: reaches past the length check. */
const arbFrame = fc
  .record({
    type: fc.integer({ min: 0, max: 10 }),
    flags: fc.integer({ min: 0, max: 255 }),
    stream: fc.oneof(fc.constantFrom(0, 1, 3, 5), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    payload: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ type, flags, stream, payload }) =>
    Buffer.concat([frameHeader(payload.length, type, flags, stream), Buffer.from(payload)]),
  );

/** A server byte stream: framed frames, raw noise, or both, cut into random chunks. */
const arbStream = fc
  .tuple(
    fc.array(
      fc.oneof(
        arbFrame,
        fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
      ),
      { maxLength: 12 },
    ),
    fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }),
  )
  .map(([parts, cuts]) => {
    const all = Buffer.concat(parts);
    const chunks: Buffer[] = [];
    let at = 0;
    for (let i = 0; at < all.length; i++) {
      const n = cuts[i % cuts.length] ?? 1;
      chunks.push(all.subarray(at, at + n));
      at += n;
    }
    return chunks;
  });

describe('HTTP/2 frame reader fuzz', () => {
  it('random server bytes end every stream exactly once, with an H2Error or cleanly, and never throw', () => {
    fc.assert(
      fc.property(arbStream, (chunks) => {
        const t = fakeTransport();
        const conn = new H2Connection(t);
        const outcomes: Outcome[] = [];
        for (let i = 0; i < 3; i++) {
          const o: Outcome = { headers: 0, ends: [] };
          outcomes.push(o);
          conn.request([[':path', '/x']], Buffer.from('body'), handler(o));
        }
        for (const c of chunks) t.feed(c);
        t.hangUp(); // the server goes away: whatever is still open must hear it
        for (const o of outcomes) {
          expect(o.ends).toHaveLength(1);
          const err = o.ends[0];
          if (err !== undefined) expect(err).toBeInstanceOf(H2Error);
        }
        expect(conn.closed).toBe(true);
      }),
      { ...BOUND, numRuns: RUNS },
    );
  });

  it('a protocol error fails the connection with a typed error and destroys the socket', () => {
    // Found by the fuzzer: a RST_STREAM shorter than its 4-byte code dropped its stream's handler unanswered.
    const t = fakeTransport();
    const conn = new H2Connection(t);
    const o: Outcome = { headers: 0, ends: [] };
    conn.request([[':path', '/x']], Buffer.alloc(0), handler(o));
    t.feed(Buffer.concat([frameHeader(1, 3, 0, 1), Buffer.from([0])]));
    expect(o.ends).toHaveLength(1);
    expect(o.ends[0]).toBeInstanceOf(H2Error);
    expect(o.ends[0]?.kind).toBe('protocol');
    expect(t.destroyed).toBe(true);
  });
});

describe('HPACK decoder fuzz', () => {
  it('random header blocks decode or throw HpackError, on one long-lived dynamic table', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 8 }), (blocks) => {
        const d = new HpackDecoder();
        for (const b of blocks) {
          try {
            const list = d.decode(b);
            for (const [n, v] of list) {
              expect(typeof n).toBe('string');
              expect(typeof v).toBe('string');
            }
          } catch (e) {
            expect(e).toBeInstanceOf(HpackError);
          }
        }
      }),
      { ...BOUND, numRuns: RUNS * 3 },
    );
  });

  it('random Huffman strings decode or throw HpackError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        try {
          expect(huffmanDecode(raw)).toBeInstanceOf(Buffer);
        } catch (e) {
          expect(e).toBeInstanceOf(HpackError);
        }
      }),
      { ...BOUND, numRuns: RUNS * 3 },
    );
  });

  it('blocks with a mutated byte of a valid encoding still decode or throw HpackError', () => {
    const pairs = fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(pairs, fc.nat(), fc.integer({ min: 0, max: 255 }), (headers, at, byte) => {
        const latin1 = headers.map(([n, v]) => [
          n.replace(/[^\x20-\xff]/g, ''),
          v.replace(/[^\x20-\xff]/g, ''),
        ]);
        const block = encodeHeaders(latin1 as Array<[string, string]>);
        expect(new HpackDecoder().decode(block)).toEqual(latin1);
        if (block.length > 0) block[at % block.length] = byte;
        try {
          new HpackDecoder().decode(block);
        } catch (e) {
          expect(e).toBeInstanceOf(HpackError);
        }
      }),
      { ...BOUND, numRuns: RUNS * 3 },
    );
  });
});
