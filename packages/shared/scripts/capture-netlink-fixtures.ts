// Captures kernel dump replies (raw bytes) and iproute2's reading of the same objects into
// src/netlink/fixtures/kernel-dumps.json. The objects are created with `ip`, not with our code, so the fixture
// tests our decoder against two independent sources: the kernel's bytes and iproute2's JSON. Run as root:
//   pnpm exec tsx packages/shared/scripts/capture-netlink-fixtures.ts
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { release } from 'node:os';
import {
  NetlinkSocket,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETROUTE,
  RTM_GETRULE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTM_NEWRULE,
  encodeAddressFilter,
  encodeNeighbourFilter,
  encodeRouteFilter,
  encodeRuleFilter,
  ifinfomsg,
} from '../src/netlink/index.js';

const ns = `vct-fix-${randomBytes(3).toString('hex')}`;
const ip = (...a: string[]): string => execFileSync('ip', ['-n', ns, ...a], { encoding: 'utf8' });
const ipj = (...a: string[]): unknown => JSON.parse(ip('-j', ...a) || '[]');

execFileSync('ip', ['netns', 'add', ns]);
try {
  ip(
    'link',
    'add',
    'eth0',
    'mtu',
    '9001',
    'address',
    '02:00:00:aa:00:01',
    'type',
    'veth',
    'peer',
    'name',
    'veth0',
  );
  ip('link', 'set', 'eth0', 'up');
  ip('link', 'set', 'veth0', 'up');
  ip('addr', 'add', '10.1.0.10/24', 'dev', 'eth0');
  ip('addr', 'add', '2001:db8:1::10/64', 'dev', 'eth0', 'nodad');
  ip('route', 'add', 'default', 'via', '10.1.0.1', 'dev', 'eth0', 'table', '1001', 'mtu', '1400');
  ip('route', 'add', '10.4.0.0/16', 'via', '169.254.1.1', 'dev', 'eth0', 'onlink', 'table', '1001');
  ip('route', 'add', '10.1.0.55/32', 'dev', 'veth0', 'scope', 'link', 'table', '1001');
  ip('-6', 'route', 'add', '2001:db8:9::/64', 'via', '2001:db8:1::1', 'dev', 'eth0', 'table', '1001');
  ip('rule', 'add', 'from', '10.1.0.55/32', 'lookup', '1001', 'pref', '1536');
  ip('rule', 'add', 'to', '10.1.0.55/32', 'lookup', 'main', 'pref', '512');
  ip('rule', 'add', 'fwmark', '0x80/0x80', 'lookup', 'main', 'pref', '1024');
  ip('rule', 'add', 'iif', 'veth0', 'lookup', '1001', 'pref', '10');
  ip('-6', 'rule', 'add', 'from', '2001:db8:1::55/128', 'lookup', '1001', 'pref', '1536');
  ip('neigh', 'add', '169.254.1.1', 'lladdr', '02:00:00:aa:00:02', 'dev', 'eth0', 'nud', 'permanent');
  ip('-6', 'neigh', 'add', 'fe80::1', 'lladdr', '02:00:00:aa:00:03', 'dev', 'eth0', 'nud', 'permanent');

  const sock = NetlinkSocket.open(`/var/run/netns/${ns}`);
  const hex = (bufs: Buffer[]): string[] => bufs.map((b) => b.toString('hex'));
  const ctx = { op: 'capture', args: {} };
  const fixture = {
    note: 'Captured by packages/shared/scripts/capture-netlink-fixtures.ts; objects created with iproute2.',
    kernel: release(),
    links: { raw: hex(sock.dump(RTM_GETLINK, ifinfomsg(), RTM_NEWLINK, ctx)), ip: ipj('-d', 'link', 'show') },
    addresses: {
      raw: hex(sock.dump(RTM_GETADDR, encodeAddressFilter(0), RTM_NEWADDR, ctx)),
      ip: ipj('addr', 'show'),
    },
    routes4: {
      raw: hex(sock.dump(RTM_GETROUTE, encodeRouteFilter(4), RTM_NEWROUTE, ctx)),
      ip: ipj('-d', 'route', 'show', 'table', 'all'),
    },
    routes6: {
      raw: hex(sock.dump(RTM_GETROUTE, encodeRouteFilter(6), RTM_NEWROUTE, ctx)),
      ip: ipj('-6', '-d', 'route', 'show', 'table', 'all'),
    },
    rules4: {
      raw: hex(sock.dump(RTM_GETRULE, encodeRuleFilter(4), RTM_NEWRULE, ctx)),
      ip: ipj('rule', 'show'),
    },
    rules6: {
      raw: hex(sock.dump(RTM_GETRULE, encodeRuleFilter(6), RTM_NEWRULE, ctx)),
      ip: ipj('-6', 'rule', 'show'),
    },
    neighbours: {
      raw: hex(sock.dump(RTM_GETNEIGH, encodeNeighbourFilter(0), RTM_NEWNEIGH, ctx)),
      ip: [...(ipj('neigh', 'show') as unknown[]), ...(ipj('-6', 'neigh', 'show') as unknown[])],
    },
  };
  sock.close();
  writeFileSync(
    new URL('../src/netlink/fixtures/kernel-dumps.json', import.meta.url),
    JSON.stringify(fixture, null, 1) + '\n',
  );
  console.log('wrote src/netlink/fixtures/kernel-dumps.json');
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
