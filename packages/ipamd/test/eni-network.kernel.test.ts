// Per-ENI host networking against the real kernel: a secondary ENI (a veth whose far end is a "VPC" netns owning
// the subnet gateway) is configured from its MAC, traffic sourced from the ENI's primary address leaves through the
// ENI's own table, setup is idempotent, and teardown leaves no table route or rule behind.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netlink } from '@vpc-cni/shared/netlink';
import { type TestNetns, createTestNetns } from '../../shared/test/netns-fixture.js';
import {
  ENI_RULE_PRIORITY,
  EniLinkNotFound,
  type EniNetwork,
  eniTable,
  setupEniNetwork,
  teardownEniNetwork,
  waitForLink,
} from '../src/hostnet/index.js';

const ENI: EniNetwork = {
  mac: '02:5a:00:00:01:02',
  primaryIp: '10.0.2.10',
  subnetCidr: '10.0.2.0/24',
  table: 2,
  mtu: 1400,
};

describe('per-ENI host networking (kernel)', () => {
  let node: TestNetns;
  let vpc: TestNetns;
  let nl: Netlink;
  const rules = () =>
    node
      .ipj<{ priority: number; src?: string; table?: string }>(['rule', 'list'])
      .filter((r) => r.src === ENI.primaryIp);

  beforeAll(() => {
    node = createTestNetns('eninet-node');
    vpc = createTestNetns('eninet-vpc');
    // A fresh ENI: down, default MTU, no address (as a hot-plugged NIC appears).
    node.ip([
      'link',
      'add',
      'eth1',
      'address',
      ENI.mac,
      'type',
      'veth',
      'peer',
      'name',
      'f1',
      'netns',
      vpc.name,
    ]);
    vpc.ip(['addr', 'add', '10.0.2.1/24', 'dev', 'f1']);
    vpc.ip(['addr', 'add', '10.0.9.9/32', 'dev', 'lo']); // a host elsewhere in the VPC
    vpc.ip(['link', 'set', 'f1', 'up']);
    vpc.ip(['link', 'set', 'lo', 'up']);
    nl = Netlink.open(node.path);
  });
  afterAll(() => {
    nl?.close();
    node?.remove();
    vpc?.remove();
  });

  it('brings the ENI up with MTU, address, its table and the 32765 rule; the subnet route leaves main', () => {
    const link = setupEniNetwork(nl, ENI);
    expect(link.name).toBe('eth1');
    const shown = node.ipj<{ mtu: number; flags: string[] }>(['link', 'show', 'eth1'])[0];
    expect(shown?.mtu).toBe(1400);
    expect(shown?.flags).toContain('UP');
    const addrs = node.ipj<{ addr_info: { local: string; prefixlen: number }[] }>(['addr', 'show', 'eth1']);
    expect(addrs[0]?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContain('10.0.2.10/24');
    const table = node.ipj<{ dst: string; gateway?: string; scope?: string }>([
      'route',
      'show',
      'table',
      '2',
    ]);
    expect(table).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: '10.0.2.1', scope: 'link' }),
        expect.objectContaining({ dst: 'default', gateway: '10.0.2.1' }),
      ]),
    );
    expect(node.ipj<{ dst: string }>(['route', 'show', 'table', 'main']).map((r) => r.dst)).not.toContain(
      '10.0.2.0/24',
    );
    expect(rules()).toEqual([expect.objectContaining({ priority: ENI_RULE_PRIORITY, table: '2' })]);
  });

  it('traffic from the ENI address reaches the VPC through the ENI table', () => {
    const out = execFileSync(
      'ip',
      ['netns', 'exec', node.name, 'ping', '-c1', '-W2', '-I', ENI.primaryIp, '10.0.9.9'],
      { encoding: 'utf8' },
    );
    expect(out).toMatch(/1 received/);
    // Without a source on this ENI there is no route at all: the main table knows nothing of the VPC.
    expect(() =>
      execFileSync('ip', ['netns', 'exec', node.name, 'ping', '-c1', '-W1', '10.0.9.9'], { stdio: 'pipe' }),
    ).toThrow();
  });

  it('is idempotent: a second setup changes nothing', () => {
    // The kernel's own IPv6 link-local address finishes duplicate address detection on its own schedule
    // (tentative, then a local route appears), so it is left out of the comparison.
    const snapshot = (): string[] =>
      [node.ip(['route', 'show', 'table', 'all']), node.ip(['rule']), node.ip(['addr'])].map((s) =>
        s
          .split('\n')
          .filter((l) => !/fe80::/.test(l))
          .join('\n'),
      );
    const before = snapshot();
    setupEniNetwork(nl, ENI);
    expect(snapshot()).toEqual(before);
    expect(before.join('\n')).toMatch(/10\.0\.2\.10/);
  });

  it('teardown removes the table and the rule', () => {
    teardownEniNetwork(nl, ENI);
    expect(node.ipj(['route', 'show', 'table', '2'])).toEqual([]);
    expect(rules()).toEqual([]);
    // Other rules (the kernel's defaults) are untouched.
    expect(node.ipj<{ priority: number }>(['rule', 'list']).map((r) => r.priority)).toEqual([
      0, 32766, 32767,
    ]);
  });

  it('refuses the primary ENI table and a MAC no link has', () => {
    expect(() => setupEniNetwork(nl, { ...ENI, table: 254 })).toThrow(/never be called on the primary ENI/);
    expect(() => setupEniNetwork(nl, { ...ENI, mac: '02:5a:00:00:09:09' })).toThrow(EniLinkNotFound);
  });

  it('waitForLink finds a link that appears late, and gives up after the attempts', async () => {
    const mac = '02:5a:00:00:03:03';
    const late = setTimeout(
      () =>
        node.ip([
          'link',
          'add',
          'eth2',
          'address',
          mac,
          'type',
          'veth',
          'peer',
          'name',
          'f2',
          'netns',
          vpc.name,
        ]),
      150,
    );
    try {
      const link = await waitForLink(mac, { attempts: 20, intervalMs: 50 }, node.path);
      expect(link.name).toBe('eth2');
    } finally {
      clearTimeout(late);
    }
    await expect(
      waitForLink('02:5a:00:00:04:04', { attempts: 2, intervalMs: 10 }, node.path),
    ).rejects.toThrow(
      /failed to find the link which uses MAC address 02:5a:00:00:04:04 \(after 2 attempts\)/,
    );
  });

  it('network card 1: a rule the node image made for the ENI address is reused (no second rule); otherwise 10000 + 100·card + device', () => {
    const CARD1: EniNetwork = {
      mac: '02:5a:00:00:05:05',
      primaryIp: '10.0.5.10',
      subnetCidr: '10.0.5.0/24',
      table: 10101,
      mtu: 1400,
    };
    node.ip([
      'link',
      'add',
      'c1eth1',
      'address',
      CARD1.mac,
      'type',
      'veth',
      'peer',
      'name',
      'f5',
      'netns',
      vpc.name,
    ]);
    node.ip(['rule', 'add', 'from', '10.0.5.10', 'lookup', '777', 'pref', '32765']);
    const choice = eniTable(nl, {
      card: 1,
      deviceNumber: 1,
      primaryIp: CARD1.primaryIp,
      maxEni: 4,
      fallback: 10101,
    });
    expect(choice).toEqual({ table: 777, ruleExists: true });
    setupEniNetwork(nl, { ...CARD1, ...choice });
    const mine = () =>
      node
        .ipj<{ priority: number; src?: string; table?: string }>(['rule', 'list'])
        .filter((r) => r.src === '10.0.5.10');
    expect(mine().map((r) => [r.priority, r.table])).toEqual([[32765, '777']]);
    expect(
      node
        .ipj<{ dst: string; gateway?: string }>(['route', 'show', 'table', '777'])
        .map((r) => [r.dst, r.gateway]),
    ).toEqual([
      ['default', '10.0.5.1'],
      ['10.0.5.1', undefined],
    ]);
    expect(node.ip(['route', 'show', 'table', 'all'])).not.toMatch(/table 10101/);
    // card 0 never looks; with no rule for the address, the card numbering
    expect(
      eniTable(nl, { card: 0, deviceNumber: 1, primaryIp: CARD1.primaryIp, maxEni: 4, fallback: 2 }),
    ).toEqual({
      table: 2,
      ruleExists: false,
    });
    teardownEniNetwork(nl, { primaryIp: CARD1.primaryIp, table: 777 });
    expect(mine()).toEqual([]);
    expect(
      eniTable(nl, { card: 1, deviceNumber: 1, primaryIp: CARD1.primaryIp, maxEni: 4, fallback: 10101 }),
    ).toEqual({
      table: 10101,
      ruleExists: false,
    });
    // an older release's rules: two for the address, the legacy device + 1 + card·maxENI (6) wins
    node.ip(['rule', 'add', 'from', '10.0.5.10', 'lookup', '6', 'pref', '32765']);
    node.ip(['rule', 'add', 'from', '10.0.5.10', 'lookup', '900', 'pref', '32765']);
    expect(
      eniTable(nl, { card: 1, deviceNumber: 1, primaryIp: CARD1.primaryIp, maxEni: 4, fallback: 10101 }),
    ).toEqual({
      table: 6,
      ruleExists: true,
    });
    teardownEniNetwork(nl, { primaryIp: CARD1.primaryIp, table: 6 });
    expect(mine()).toEqual([]);
  });
});
