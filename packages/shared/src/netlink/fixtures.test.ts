// Our decoders against kernel dump replies captured byte for byte (fixtures/kernel-dumps.json), with iproute2's
// JSON reading of the same objects as the independent expectation. Recapture with
// packages/shared/scripts/capture-netlink-fixtures.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeAddress, decodeLink, decodeNeighbour, decodeRoute, decodeRule } from './index.js';

interface Section<T> {
  raw: string[];
  ip: T[];
}
interface Fixture {
  links: Section<{
    ifindex: number;
    ifname: string;
    mtu: number;
    address: string;
    linkinfo?: { info_kind: string };
  }>;
  addresses: Section<{ ifindex: number; addr_info: { local: string; prefixlen: number }[] }>;
  routes4: Section<IpRoute>;
  routes6: Section<IpRoute>;
  rules4: Section<IpRule>;
  rules6: Section<IpRule>;
  neighbours: Section<{ dst: string; dev: string; lladdr?: string; state: string[] }>;
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
  table?: string;
  scope: string;
  flags: string[];
  metrics?: { mtu?: number }[];
}
interface IpRule {
  priority: number;
  src: string;
  dst?: string;
  table: string;
  fwmark?: string;
  fwmask?: string;
  iif?: string;
}

const fx = JSON.parse(
  readFileSync(new URL('./fixtures/kernel-dumps.json', import.meta.url), 'utf8'),
) as Fixture;
const bufs = (s: Section<unknown>): Buffer[] => s.raw.map((h) => Buffer.from(h, 'hex'));
const links = bufs(fx.links).map(decodeLink);
const indexOf = (name: string): number | undefined => links.find((l) => l.name === name)?.index;
const TABLES: Record<string, number> = { main: 254, local: 255, default: 253 };
const tableId = (t: string | undefined): number => (t === undefined ? 254 : (TABLES[t] ?? Number(t)));

describe('decoding kernel-captured dumps (iproute2 as the expectation)', () => {
  it('links: index, name, MTU, MAC and kind', () => {
    expect(links).toHaveLength(fx.links.ip.length);
    for (const want of fx.links.ip) {
      const got = links.find((l) => l.index === want.ifindex);
      expect(got).toMatchObject({ name: want.ifname, mtu: want.mtu });
      if (want.address !== '00:00:00:00:00:00') expect(got?.mac).toBe(want.address);
      if (want.linkinfo) expect(got?.kind).toBe(want.linkinfo.info_kind);
    }
  });

  it('addresses: every address with its prefix length on the right link', () => {
    const got = bufs(fx.addresses).map(decodeAddress);
    const want = fx.addresses.ip.flatMap((l) =>
      l.addr_info.map((a) => `${l.ifindex} ${a.local}/${a.prefixlen}`),
    );
    expect(got.map((a) => `${a.index} ${a.cidr}`).sort()).toEqual(want.sort());
  });

  it('routes v4 and v6: destination, gateway, device, table, scope, onlink, MTU', () => {
    for (const [section, family] of [
      [fx.routes4, 4],
      [fx.routes6, 6],
    ] as const) {
      const got = bufs(section).map(decodeRoute);
      const wanted = section.ip.filter((r) => r.table === '1001');
      expect(wanted.length).toBeGreaterThan(0);
      for (const w of wanted.filter((r) => r.dst.includes(':') === (family === 6))) {
        const dst = w.dst === 'default' ? '0.0.0.0/0' : w.dst.includes('/') ? w.dst : `${w.dst}/32`;
        const r = got.find((g) => g.dst === dst && g.table === 1001);
        expect(r, dst).toBeDefined();
        expect(r?.gateway).toBe(w.gateway);
        expect(r?.oif).toBe(indexOf(w.dev));
        expect(r?.scope).toBe(w.scope === 'link' ? 253 : 0);
        expect(r?.onlink ?? false).toBe(w.flags.includes('onlink'));
        expect(r?.mtu).toBe(w.metrics?.[0]?.mtu);
      }
    }
  });

  it('rules v4 and v6: priority, selectors, fwmark/mask, iif, table', () => {
    for (const section of [fx.rules4, fx.rules6]) {
      const got = bufs(section).map(decodeRule);
      expect(got).toHaveLength(section.ip.length);
      for (const w of section.ip) {
        const r = got.find((g) => g.priority === w.priority);
        expect(r?.table).toBe(tableId(w.table));
        expect(r?.src?.split('/')[0]).toBe(w.src === 'all' ? undefined : w.src);
        expect(r?.dst?.split('/')[0]).toBe(w.dst);
        expect(r?.iif).toBe(w.iif);
        expect(r?.fwmark).toBe(w.fwmark === undefined ? undefined : Number(w.fwmark));
        expect(r?.fwmask).toBe(w.fwmask === undefined ? undefined : Number(w.fwmask));
      }
    }
  });

  it('neighbours: permanent entries with their MAC', () => {
    const got = bufs(fx.neighbours).map(decodeNeighbour);
    // `ip neigh show` without a family lists both, so the v6 entry appears twice in the capture.
    const permanent = [
      ...new Map(
        fx.neighbours.ip.filter((n) => n.state.includes('PERMANENT')).map((n) => [n.dst, n]),
      ).values(),
    ];
    expect(permanent.length).toBe(2);
    for (const w of permanent) {
      const n = got.find((g) => g.ip === w.dst);
      expect(n?.mac).toBe(w.lladdr);
      expect(n?.index).toBe(indexOf(w.dev));
      expect((n?.state ?? 0) & 0x80).toBe(0x80);
    }
  });
});
