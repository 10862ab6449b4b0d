// Fuzzing the netlink decoders with random bytes (seeded, so a failure reproduces): each either decodes or throws
// a NetlinkDecodeError; never a RangeError from a short buffer, never a hang.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NLMSG_ERROR,
  NLM_F_ACK_TLVS,
  NetlinkDecodeError,
  decodeAddress,
  decodeAttrs,
  decodeError,
  decodeLink,
  decodeMessages,
  decodeNeighbour,
  decodeNewLink,
  decodeRoute,
  decodeRule,
  encodeAttrs,
  routeFlags,
} from './index.js';

const SEED = 0x5eed_18;
const RUNS = 400;
/** Same seed every run; a loaded machine stops early (after 4 s) instead of timing out, still green. */
const BOUND = { seed: SEED, interruptAfterTimeLimit: 4_000, markInterruptAsFailure: false };

function decodesOrTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NetlinkDecodeError);
  }
}

const payloadDecoders: Array<[string, (b: Buffer) => unknown]> = [
  ['decodeLink', decodeLink],
  ['decodeNewLink', decodeNewLink],
  ['decodeAddress', decodeAddress],
  ['decodeNeighbour', decodeNeighbour],
  ['decodeRoute', decodeRoute],
  ['decodeRule', decodeRule],
  ['routeFlags', routeFlags],
];

/** A fixed-size header of random bytes followed by well-formed attributes (random types and values, nested). */
const arbAttrs = fc
  .array(
    fc.record({
      type: fc.integer({ min: 0, max: 40 }),
      value: fc.oneof(
        fc.uint8Array({ maxLength: 20 }).map((u) => Buffer.from(u)),
        fc
          .array(
            fc.record({
              type: fc.integer({ min: 0, max: 8 }),
              value: fc.uint8Array({ maxLength: 12 }).map((u) => Buffer.from(u)),
            }),
            { maxLength: 4 },
          )
          .map(encodeAttrs),
      ),
    }),
    { maxLength: 10 },
  )
  .map(encodeAttrs);
const arbPayload = fc.oneof(
  fc.uint8Array({ maxLength: 120 }).map((u) => Buffer.from(u)),
  fc
    .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), arbAttrs)
    .map(([h, a]) => Buffer.concat([Buffer.from(h), a])),
);

describe('netlink decoder fuzz', () => {
  it('decodeMessages and decodeAttrs split random bytes or throw NetlinkDecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (u) => {
        const b = Buffer.from(u);
        decodesOrTyped(() => {
          for (const m of decodeMessages(b)) expect(m.payload.length).toBeLessThanOrEqual(b.length);
        });
        decodesOrTyped(() => decodeAttrs(b));
      }),
      { ...BOUND, numRuns: RUNS },
    );
  });

  for (const [name, decode] of payloadDecoders) {
    it(`${name} decodes random payloads or throws NetlinkDecodeError`, () => {
      fc.assert(
        fc.property(arbPayload, (p) => decodesOrTyped(() => decode(p))),
        { ...BOUND, numRuns: RUNS },
      );
    });
  }

  it('decodeError reads random NLMSG_ERROR payloads (with and without TLVs) or throws NetlinkDecodeError', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), arbPayload, (tlvs, capped, payload) => {
        const flags = (tlvs ? NLM_F_ACK_TLVS : 0) | (capped ? 0x100 : 0);
        decodesOrTyped(() => decodeError({ type: NLMSG_ERROR, flags, seq: 1, pid: 0, payload }));
      }),
      { ...BOUND, numRuns: RUNS },
    );
  });

  it('a truncated header names the message kind', () => {
    expect(() => decodeRoute(Buffer.alloc(3))).toThrow(
      new NetlinkDecodeError('rtmsg of 3 bytes, shorter than its 12-byte header'),
    );
    // An IFLA_MTU attribute of 2 bytes: too short for its u32.
    const short = Buffer.concat([Buffer.alloc(16), encodeAttrs([{ type: 4, value: Buffer.alloc(2) }])]);
    expect(() => decodeLink(short)).toThrow(NetlinkDecodeError);
    expect(() => decodeLink(short)).toThrow(/ifinfomsg/);
  });
});
