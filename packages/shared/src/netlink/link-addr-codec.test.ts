// Round trips of the link, address and neighbour messages (fast-check), plus the fixed layout facts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IFF_UP,
  bytesToIp,
  decodeAddress,
  decodeNeighbour,
  decodeNewLink,
  encodeAddress,
  encodeNeighbour,
  encodeNewLink,
  encodeSetLink,
  ipToBytes,
  macToBytes,
  type LinkAttrs,
  type LinkKind,
} from './index.js';

const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
const ifname = fc.stringMatching(/^[a-z][a-z0-9.]{0,14}$/);
const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc.ipV6().map((ip) => bytesToIp(ipToBytes(ip)));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const attrs: fc.Arbitrary<LinkAttrs & { name: string }> = fc.record({
  name: ifname,
  mtu: opt(fc.integer({ min: 68, max: 65535 })),
  mac: opt(mac),
  parentIndex: opt(fc.integer({ min: 1, max: 1 << 20 })),
  masterIndex: opt(fc.integer({ min: 1, max: 1 << 20 })),
  netnsFd: opt(fc.integer({ min: 0, max: 1 << 16 })),
});
const strip = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

describe('link, address and neighbour codecs', () => {
  it('new-link requests round-trip for veth (with peer), vlan and dummy', () => {
    const kind: fc.Arbitrary<LinkKind> = fc.oneof(
      fc.constant<LinkKind>({ kind: 'dummy' }),
      attrs.map<LinkKind>((peer) => ({ kind: 'veth', peer })),
      fc
        .record({ vlanId: fc.integer({ min: 1, max: 4094 }), protocol: fc.constantFrom('802.1Q', '802.1ad') })
        .map<LinkKind>((v) => ({ kind: 'vlan', vlanId: v.vlanId, protocol: v.protocol as '802.1Q' })),
    );
    fc.assert(
      fc.property(attrs, kind, fc.boolean(), (a, k, up) => {
        const back = decodeNewLink(encodeNewLink(a, k, up));
        expect(back.attrs).toEqual(strip(a));
        expect(back.up).toBe(up);
        if (k.kind === 'veth') expect(back.kind).toEqual({ kind: 'veth', peer: strip(k.peer) });
        else expect(back.kind).toEqual(k);
      }),
    );
  });

  it('set-link only changes IFF_UP when asked', () => {
    const up = encodeSetLink(7, {}, true);
    expect([up.readInt32LE(4), up.readUInt32LE(8), up.readUInt32LE(12)]).toEqual([7, IFF_UP, IFF_UP]);
    const down = encodeSetLink(7, {}, false);
    expect([down.readUInt32LE(8), down.readUInt32LE(12)]).toEqual([0, IFF_UP]);
    const mtu = encodeSetLink(7, { mtu: 1400 });
    expect([mtu.readUInt32LE(8), mtu.readUInt32LE(12)]).toEqual([0, 0]);
  });

  it('addresses round-trip, v4 and v6, with flags and scope', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([ip, b]) => `${ip}/${b}`),
          fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([ip, b]) => `${ip}/${b}`),
        ),
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.constantFrom(0, 253, 254),
        fc.constantFrom(0, 0x02, 0x80, 0x200),
        (cidr, index, scope, flags) => {
          const a = decodeAddress(encodeAddress({ index, cidr, scope, flags }));
          expect(a).toMatchObject({ index, cidr, scope, family: cidr.includes(':') ? 6 : 4 });
          expect(a.flags & flags).toBe(flags);
        },
      ),
    );
  });

  it('neighbours round-trip, v4 and v6', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6), mac, fc.integer({ min: 1, max: 1 << 20 }), (ip, m, index) => {
        expect(decodeNeighbour(encodeNeighbour({ index, ip, mac: m, state: 0x80 }))).toEqual({
          index,
          ip,
          mac: m,
          state: 0x80,
        });
      }),
    );
  });

  it('rejects malformed MACs with the value in the message', () => {
    expect(() => macToBytes('02:00:00:00:00')).toThrow(/"02:00:00:00:00"/);
    expect(() => macToBytes('zz:00:00:00:00:00')).toThrow(/not a MAC/);
  });
});
