import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  NLM_F_ACK,
  NLM_F_REQUEST,
  RTM_NEWROUTE,
  bytesToIp,
  decodeAttrs,
  decodeError,
  decodeMessages,
  decodeRoute,
  decodeRule,
  encodeAttrs,
  encodeErrorForTest,
  encodeMessage,
  encodeRoute,
  encodeRule,
  ipToBytes,
  RT_SCOPE_LINK,
  RTN_UNICAST,
  RTPROT_BOOT,
  type Route,
  type Rule,
} from './index.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc.ipV6().map((ip) => bytesToIp(ipToBytes(ip))); // canonical text form

describe('netlink codec', () => {
  it('IPv6 text round-trips through bytes in RFC 5952 form', () => {
    expect(bytesToIp(ipToBytes('2001:db8:0:0:0:0:0:1'))).toBe('2001:db8::1');
    expect(bytesToIp(ipToBytes('::'))).toBe('::');
    expect(bytesToIp(ipToBytes('fe80::1'))).toBe('fe80::1');
    expect(Array.from(ipToBytes('::ffff:1.2.3.4')).slice(10)).toEqual([255, 255, 1, 2, 3, 4]);
    fc.assert(fc.property(fc.ipV6(), (ip) => ipToBytes(bytesToIp(ipToBytes(ip))).equals(ipToBytes(ip))));
  });

  it('messages and attributes round-trip, with 4-byte alignment', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.nat(0x3fff), value: fc.uint8Array({ maxLength: 23 }) }), {
          maxLength: 6,
        }),
        fc.nat(0xffff),
        fc.nat(0xffff),
        fc.nat(),
        (attrs, type, flags, seq) => {
          const payload = encodeAttrs(attrs.map((a) => ({ type: a.type, value: Buffer.from(a.value) })));
          expect(payload.length % 4).toBe(0);
          const back = decodeAttrs(payload).map((a) => ({ type: a.type, value: new Uint8Array(a.value) }));
          expect(back).toEqual(attrs.map((a) => ({ type: a.type, value: new Uint8Array(a.value) })));
          const two = Buffer.concat([
            encodeMessage({ type, flags, seq, pid: 0, payload }),
            encodeMessage({ type: 3, flags: 2, seq: seq + 1, pid: 0, payload: Buffer.alloc(4) }),
          ]);
          const msgs = decodeMessages(two);
          expect(msgs).toHaveLength(2);
          expect(msgs[0]?.payload.equals(payload)).toBe(true);
          expect(msgs[1]?.type).toBe(3);
        },
      ),
    );
  });

  it('rejects truncated input instead of reading past it', () => {
    const m = encodeMessage({ type: 24, flags: 5, seq: 1, pid: 0, payload: Buffer.alloc(12) });
    m.writeUInt32LE(200, 0);
    expect(() => decodeMessages(m)).toThrow(/malformed message length 200/);
    expect(() => decodeAttrs(Buffer.from([9, 0, 1, 0, 1]))).toThrow(/malformed attribute/);
  });

  it('encodes a pod host route byte for byte (10.0.1.5/32 dev 7 scope link, table main)', () => {
    const r: Route = {
      dst: '10.0.1.5/32',
      oif: 7,
      table: 254,
      scope: RT_SCOPE_LINK,
      protocol: RTPROT_BOOT,
      type: RTN_UNICAST,
    };
    const hex = encodeRoute(r).toString('hex');
    // rtmsg: family 2, dst_len 32, src_len 0, tos 0, table 254, proto 3, scope 253, type 1, flags 0
    // RTA_TABLE(15)=254, RTA_DST(1)=0a000105, RTA_OIF(4)=7
    expect(hex).toBe(
      '022000' +
        '00' +
        'fe' +
        '03' +
        'fd' +
        '01' +
        '00000000' +
        '08000f00fe000000' +
        '080001000a000105' +
        '0800040007000000',
    );
    expect(decodeRoute(encodeRoute(r))).toEqual(r);
  });

  it('routes round-trip (v4 and v6, tables above 255, onlink gateways, metrics)', () => {
    const route = fc.oneof(
      fc.record({ ip: v4, bits: fc.integer({ min: 0, max: 32 }), gw: fc.option(v4, { nil: undefined }) }),
      fc.record({ ip: v6, bits: fc.integer({ min: 0, max: 128 }), gw: fc.option(v6, { nil: undefined }) }),
    );
    fc.assert(
      fc.property(
        route,
        fc.integer({ min: 1, max: 70000 }),
        fc.boolean(),
        fc.option(fc.nat(9001), { nil: undefined }),
        (x, table, onlink, mtu) => {
          const zero = x.ip.includes(':') ? '::' : '0.0.0.0';
          const r: Route = {
            dst: `${x.bits === 0 ? zero : x.ip}/${x.bits}`,
            table,
            scope: 0,
            protocol: 4,
            type: 1,
            oif: 3,
            ...(x.gw !== undefined ? { gateway: x.gw } : {}),
            ...(onlink ? { onlink: true } : {}),
            ...(mtu !== undefined ? { mtu } : {}),
          };
          expect(decodeRoute(encodeRoute(r))).toEqual(r);
        },
      ),
    );
  });

  it('rules round-trip (priority, table, src/dst, fwmark/mask, iif/oif)', () => {
    fc.assert(
      fc.property(
        v4,
        fc.integer({ min: 1, max: 32 }),
        fc.nat(32766),
        fc.integer({ min: 1, max: 70000 }),
        fc.option(fc.nat(0xffffffff), { nil: undefined }),
        (ip, bits, priority, table, mark) => {
          const r: Rule = {
            family: 4,
            priority,
            table,
            src: `${ip}/${bits}`,
            ...(mark !== undefined ? { fwmark: mark, fwmask: mark } : {}),
            iif: 'eni1234',
          };
          expect(decodeRule(encodeRule(r))).toEqual(r);
        },
      ),
    );
  });

  it('decodes ACKs, errnos and the extended-ACK text', () => {
    const req = {
      type: RTM_NEWROUTE,
      flags: NLM_F_REQUEST | NLM_F_ACK,
      seq: 42,
      pid: 0,
      payload: Buffer.alloc(12),
    };
    const [ack] = decodeMessages(encodeMessage(encodeErrorForTest(0, req)));
    expect(ack && decodeError(ack)).toEqual({ errno: 0 });
    const [err] = decodeMessages(encodeMessage(encodeErrorForTest(17, req, 'Route already exists')));
    expect(err?.seq).toBe(42);
    expect(err && decodeError(err)).toEqual({ errno: 17, message: 'Route already exists' });
  });
});
