// Addresses, routes (any table), rules and neighbours against the real kernel, v4 and v6, checked with `ip -j`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netlink, NetlinkError } from './index.js';
import { type TestNetns, createTestNetns } from '../../test/netns-fixture.js';

interface IpAddr {
  addr_info: { family: string; local: string; prefixlen: number; nodad?: boolean }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
  flags?: string[];
  metrics?: { mtu?: number }[];
}
interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  table: string;
  fwmark?: string;
  fwmask?: string;
  iif?: string;
  oif?: string;
}
interface IpNeigh {
  dst: string;
  lladdr: string;
  state: string[];
}

function caught(fn: () => void): NetlinkError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NetlinkError) return e;
    throw e;
  }
  throw new Error('expected a NetlinkError');
}

describe('netlink addresses, routes, rules, neighbours (kernel)', () => {
  let ns: TestNetns;
  let nl: Netlink;
  beforeAll(() => {
    ns = createTestNetns('nlr');
    nl = Netlink.open(ns.path);
    nl.link.addVeth('eth0', { name: 'peer0' }, { up: true });
    nl.link.setUp('peer0');
  });
  afterAll(() => {
    nl?.close();
    ns?.remove();
  });

  it('adds, lists and deletes IPv4 and IPv6 addresses', () => {
    nl.addr.add('eth0', '10.1.0.10/24');
    nl.addr.add('eth0', '2001:db8:1::10/64', { nodad: true });
    const info = ns.ipj<IpAddr>(['addr', 'show', 'dev', 'eth0'])[0]?.addr_info ?? [];
    expect(info.map((i) => `${i.local}/${i.prefixlen}`)).toEqual(
      expect.arrayContaining(['10.1.0.10/24', '2001:db8:1::10/64']),
    );
    expect(info.find((i) => i.local === '2001:db8:1::10')?.nodad).toBe(true);
    expect(nl.addr.list({ link: 'eth0', family: 4 }).map((a) => a.cidr)).toEqual(['10.1.0.10/24']);
    expect(nl.addr.list({ link: 'eth0', family: 6 }).map((a) => a.cidr)).toContain('2001:db8:1::10/64');
    nl.addr.add('eth0', '10.1.0.11/32');
    nl.addr.del('eth0', '10.1.0.11/32');
    expect(nl.addr.delIfExists('eth0', '10.1.0.11/32')).toBe(false);
  });

  it('adding an existing address gives EEXIST with the kernel text', () => {
    const e = caught(() => nl.addr.add('eth0', '10.1.0.10/24'));
    expect(e.code).toBe('EEXIST');
    expect(e.message).toContain('10.1.0.10/24');
  });

  it('adds, replaces, lists and deletes routes in tables above 255, v4 and v6', () => {
    nl.route.add({ dst: '10.2.0.0/16', gateway: '10.1.0.1', dev: 'eth0', table: 1001 });
    nl.route.add({ dst: '0.0.0.0/0', gateway: '10.1.0.1', dev: 'eth0', table: 1001, mtu: 1400 });
    nl.route.replace({ dst: '10.3.0.7/32', dev: 'eth0', table: 1001 });
    nl.route.replace({ dst: '10.3.0.7/32', dev: 'eth0', table: 1001 }); // idempotent
    nl.route.add({ dst: '169.254.1.1/32', dev: 'eth0', table: 1001 });
    nl.route.add({ dst: '10.4.0.0/16', gateway: '169.254.1.1', dev: 'eth0', table: 1001, onlink: true });
    nl.route.add({ dst: '2001:db8:9::/64', gateway: '2001:db8:1::1', dev: 'eth0', table: 1001 });
    const v4 = ns.ipj<IpRoute>(['route', 'show', 'table', '1001']);
    expect(v4.find((r) => r.dst === '10.2.0.0/16')?.gateway).toBe('10.1.0.1');
    expect(v4.find((r) => r.dst === 'default')?.metrics?.[0]?.mtu).toBe(1400);
    expect(v4.find((r) => r.dst === '10.3.0.7')?.scope).toBe('link');
    expect(v4.find((r) => r.dst === '10.4.0.0/16')?.flags).toContain('onlink');
    const v6 = ns.ipj<IpRoute>(['-6', 'route', 'show', 'table', '1001']);
    expect(v6.find((r) => r.dst === '2001:db8:9::/64')?.gateway).toBe('2001:db8:1::1');
    const ours = nl.route.list(4, 1001);
    expect(ours.map((r) => r.dst).sort()).toEqual(
      ['0.0.0.0/0', '10.2.0.0/16', '10.3.0.7/32', '10.4.0.0/16', '169.254.1.1/32'].sort(),
    );
    expect(ours.every((r) => r.table === 1001 && r.oif === nl.link.get('eth0').index)).toBe(true);
    expect(nl.route.list(6, 1001).map((r) => r.dst)).toContain('2001:db8:9::/64');
    nl.route.del({ dst: '10.2.0.0/16', table: 1001 });
    expect(nl.route.delIfExists({ dst: '10.2.0.0/16', table: 1001 })).toBe(false);
    expect(nl.route.delIfExists({ dst: '2001:db8:9::/64', table: 1001 })).toBe(true);
    expect(ns.ipj<IpRoute>(['route', 'show', 'table', '1001']).map((r) => r.dst)).not.toContain(
      '10.2.0.0/16',
    );
  });

  it('deleting a missing route is a readable not-found error', () => {
    const v4 = caught(() => nl.route.del({ dst: '10.99.0.0/16', table: 1001 }));
    expect(v4.code).toBe('ESRCH');
    expect(v4.message).toMatch(/route del .*10\.99\.0\.0\/16.*not found/);
    const v6 = caught(() => nl.route.del({ dst: '2001:db8:99::/64', table: 1001 }));
    expect(['ESRCH', 'ENOENT']).toContain(v6.code); // ip6_route_del's answer varies by kernel version
    expect(v6.message).toMatch(/route del .*2001:db8:99::\/64.*not found/);
  });

  it('adds, ensures, lists and deletes rules with every selector', () => {
    nl.rule.add({ family: 4, priority: 512, table: 1001, src: '10.1.0.10/32' });
    expect(nl.rule.ensure({ family: 4, priority: 512, table: 1001, src: '10.1.0.10/32' })).toBe(false);
    expect(nl.rule.ensure({ family: 4, priority: 20, table: 254, dst: '10.1.0.10/32' })).toBe(true);
    nl.rule.add({ family: 4, priority: 1024, table: 254, fwmark: 0x80, fwmask: 0x80 });
    nl.rule.add({ family: 4, priority: 10, table: 1002, iif: 'eth0', oif: 'peer0' });
    nl.rule.add({ family: 6, priority: 512, table: 1001, src: '2001:db8:1::10/128' });
    const rules = ns.ipj<IpRule>(['rule', 'show']);
    expect(rules.find((r) => r.priority === 512)).toMatchObject({ src: '10.1.0.10', table: '1001' });
    expect(rules.find((r) => r.priority === 20)).toMatchObject({ dst: '10.1.0.10', table: 'main' });
    expect(rules.find((r) => r.priority === 1024)).toMatchObject({
      fwmark: '0x80',
      fwmask: '0x80',
      table: 'main',
    });
    expect(rules.find((r) => r.priority === 10)).toMatchObject({ iif: 'eth0', oif: 'peer0', table: '1002' });
    expect(ns.ipj<IpRule>(['-6', 'rule', 'show']).find((r) => r.priority === 512)?.src).toBe(
      '2001:db8:1::10',
    );
    expect(nl.rule.list(4).find((r) => r.priority === 1024)).toMatchObject({ fwmark: 0x80, fwmask: 0x80 });
    nl.rule.add({ family: 4, priority: 600, table: 1001, src: '10.5.0.1/32' });
    nl.rule.add({ family: 4, priority: 600, table: 1001, src: '10.5.0.2/32' });
    expect(nl.rule.delAll({ family: 4, priority: 600, table: 0 })).toBe(2);
    expect(nl.rule.delIfExists({ family: 4, priority: 512, table: 1001, src: '10.1.0.10/32' })).toBe(true);
    expect(nl.rule.delIfExists({ family: 4, priority: 512, table: 1001, src: '10.1.0.10/32' })).toBe(false);
    expect(ns.ipj<IpRule>(['rule', 'show']).map((r) => r.priority)).not.toContain(512);
  });

  it('adds, replaces and deletes permanent neighbours, v4 and v6', () => {
    nl.neigh.add('eth0', '169.254.1.1', '02:00:00:00:00:01');
    expect(caught(() => nl.neigh.add('eth0', '169.254.1.1', '02:00:00:00:00:01')).code).toBe('EEXIST');
    nl.neigh.replace('eth0', '169.254.1.1', '02:00:00:00:00:02');
    nl.neigh.add('eth0', 'fe80::1', '02:00:00:00:00:03');
    const v4 = ns.ipj<IpNeigh>(['neigh', 'show', 'dev', 'eth0']).find((n) => n.dst === '169.254.1.1');
    expect(v4?.lladdr).toBe('02:00:00:00:00:02');
    expect(v4?.state).toContain('PERMANENT');
    expect(ns.ipj<IpNeigh>(['-6', 'neigh', 'show', 'dev', 'eth0']).map((n) => n.dst)).toContain('fe80::1');
    expect(nl.neigh.list(6).find((n) => n.ip === 'fe80::1')?.mac).toBe('02:00:00:00:00:03');
    nl.neigh.del('eth0', '169.254.1.1');
    expect(ns.ipj<IpNeigh>(['neigh', 'show', 'dev', 'eth0']).map((n) => n.dst)).not.toContain('169.254.1.1');
  });
});
