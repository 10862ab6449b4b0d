// Byte layouts of the datapath's maps and events (golden bytes), the map diff and the conntrack GC decision.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROTO_ANY, PROTO_TCP } from './contract.js';
import {
  decodeCtKey,
  decodeFlowEvent,
  decodeNpValue,
  decodeTrieKey,
  encodeCtKey,
  encodeNpValue,
  encodeTrieKey,
  parseCidr,
} from './layout.js';
import { planDiff } from './map-diff.js';
import { flowId, liveIds, sweep } from './conntrack-gc.js';
import { DatapathError } from './errors.js';

describe('layouts', () => {
  it('trie keys: prefix length u32 host order, address in network order', () => {
    expect(encodeTrieKey('10.1.0.0/16', 'ipv4').toString('hex')).toBe('100000000a010000');
    expect(encodeTrieKey('fd00::/8', 'ipv6').toString('hex')).toBe(`08000000fd${'00'.repeat(15)}`);
    expect(decodeTrieKey(encodeTrieKey('192.168.4.0/22', 'ipv4'))).toBe('192.168.4.0/22');
  });

  it('refuses non-canonical, other-family and malformed CIDRs', () => {
    for (const [c, f] of [
      ['10.1.2.3/8', 'ipv4'],
      ['10.0.0.0', 'ipv4'],
      ['10.0.0.0/33', 'ipv4'],
      ['fd00::/8', 'ipv4'],
      ['10.0.0.0/8', 'ipv6'],
      ['nonsense/8', 'ipv4'],
    ] as const)
      expect(() => parseCidr(c, f)).toThrow(DatapathError);
  });

  it('NP values: 24 × {protocol, start, end} u32, unused entries zero', () => {
    const v = encodeNpValue([{ protocol: PROTO_TCP, startPort: 80, endPort: 90 }], '10.0.0.0/8');
    expect(v.length).toBe(288);
    expect(v.subarray(0, 12).toString('hex')).toBe('06000000' + '50000000' + '5a000000');
    expect(v.subarray(12).every((b) => b === 0)).toBe(true);
    expect(() =>
      encodeNpValue(Array(25).fill({ protocol: PROTO_ANY, startPort: 0, endPort: 0 }), 'x'),
    ).toThrow(/at most 24/);
    expect(() => encodeNpValue([{ protocol: 0, startPort: 0, endPort: 0 }], 'x')).toThrow(/bad port entry/);
  });

  it('NP values round-trip', () => {
    const entry = fc.record({
      protocol: fc.constantFrom(6, 17, 132, 254, 255),
      startPort: fc.integer({ min: 0, max: 65535 }),
      endPort: fc.integer({ min: 0, max: 65535 }),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 24 }), (es) => {
        expect(decodeNpValue(encodeNpValue(es, 'x'))).toEqual(es);
      }),
    );
  });

  it('conntrack keys: 24 B (v4) / 60 B (v6) with zero padding', () => {
    const k = {
      srcIp: '10.0.0.1',
      srcPort: 1234,
      destIp: '10.0.0.2',
      destPort: 80,
      protocol: 6,
      ownerIp: '10.0.0.1',
      ifindex: 9,
    };
    const b = encodeCtKey(k, 'ipv4');
    expect(b.toString('hex')).toBe(
      '0a000001' + 'd204' + '0000' + '0a000002' + '5000' + '06' + '00' + '0a000001' + '09000000',
    );
    expect(decodeCtKey(b, 'ipv4')).toEqual(k);
    const k6 = { ...k, srcIp: 'fd00::1', destIp: 'fd00::2', ownerIp: 'fd00::2' };
    const b6 = encodeCtKey(k6, 'ipv6');
    expect(b6.length).toBe(60);
    expect(b6.readUInt32LE(56)).toBe(9);
    expect(decodeCtKey(b6, 'ipv6')).toEqual(k6);
  });

  it('flow events: 32 B (v4) / 56 B (v6)', () => {
    const b = Buffer.alloc(32);
    Buffer.from([10, 0, 0, 1]).copy(b, 0);
    b.writeUInt32LE(40000, 4);
    Buffer.from([10, 0, 0, 2]).copy(b, 8);
    b.writeUInt32LE(443, 12);
    b.writeUInt32LE(6, 16);
    b.writeUInt32LE(1, 20);
    b.writeUInt32LE(60, 24);
    b[28] = 1;
    b[29] = 2;
    expect(decodeFlowEvent(b, 'ipv4')).toEqual({
      srcIp: '10.0.0.1',
      srcPort: 40000,
      destIp: '10.0.0.2',
      destPort: 443,
      protocol: 6,
      verdict: 'ACCEPT',
      packetSize: 60,
      isEgress: true,
      tier: 2,
    });
    const b6 = Buffer.alloc(56);
    b6[15] = 1;
    b6.writeUInt32LE(17, 40);
    b6[53] = 4;
    expect(decodeFlowEvent(b6, 'ipv6')).toMatchObject({
      srcIp: '::1',
      protocol: 17,
      verdict: 'DENY',
      tier: 4,
    });
  });
});

describe('map diff', () => {
  const kv = (k: string, v: string): [string, [Buffer, Buffer]] => [
    k,
    [Buffer.from(k, 'hex'), Buffer.from(v)],
  ];
  it('upserts changed and new keys, deletes the rest, leaves equal ones alone', () => {
    const shadow = new Map([
      ['01', Buffer.from('a')],
      ['02', Buffer.from('b')],
      ['03', Buffer.from('c')],
    ]);
    const d = planDiff(shadow, new Map([kv('01', 'a'), kv('02', 'B'), kv('04', 'd')]));
    expect(d.upserts.map(([k, v]) => `${k.toString('hex')}=${v.toString()}`)).toEqual(['02=B', '04=d']);
    expect(d.deletes.map((k) => k.toString('hex'))).toEqual(['03']);
  });
});

describe('conntrack GC decision', () => {
  const key = (n: number) => Buffer.from([n]);
  const id = (src: string, sport: number, dst: string, dport: number, owner: string) =>
    flowId({ srcIp: src, srcPort: sport, destIp: dst, destPort: dport, protocol: 6, ownerIp: owner });
  it('a kernel flow keeps both owners of its forward tuple, and the DNAT backend view', () => {
    const live = liveIds([
      {
        orig: { src: '10.0.0.1', dst: '172.20.0.10', proto: 6, sport: 5000, dport: 80 },
        reply: { src: '10.0.0.9', dst: '10.0.0.1', proto: 6, sport: 8080, dport: 5000 },
      },
    ]);
    expect(live.has(id('10.0.0.1', 5000, '172.20.0.10', 80, '10.0.0.1'))).toBe(true);
    expect(live.has(id('10.0.0.1', 5000, '172.20.0.10', 80, '172.20.0.10'))).toBe(true);
    expect(live.has(id('10.0.0.1', 5000, '10.0.0.9', 8080, '10.0.0.9'))).toBe(true);
    expect(live.has(id('10.0.0.1', 5000, '10.0.0.9', 8080, '10.0.0.1'))).toBe(true);
  });
  it('deletes only dead flows not hit since the sweep began', () => {
    const snap = [
      { key: key(1), id: 'live' },
      { key: key(2), id: 'dead-old' },
      { key: key(3), id: 'dead-recent' },
      { key: key(4), id: 'dead-gone' },
      { key: key(5), id: 'dead-error' },
    ];
    const seen: Record<number, bigint | undefined | 'error'> = { 2: 10n, 3: 200n, 4: undefined, 5: 'error' };
    const doomed = sweep(snap, new Set(['live']), (k) => seen[k[0]!], 100n);
    expect(doomed.map((k) => k[0])).toEqual([2]);
  });
});
