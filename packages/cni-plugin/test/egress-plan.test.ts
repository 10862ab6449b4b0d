// egress-cni's pure parts: chain names against upstream's vector, the exact ADD plans for both directions, the
// rollback of every prefix of a plan, the DEL plan, and the SNAT restore scripts against iptables-save text.
import { describe, expect, it } from 'vitest';
import {
  type EgressAddInput,
  chainName,
  egressRollback,
  isGlobalUnicast6,
  linkLocalOf,
  planEgressAdd,
  planEgressDel,
  snatOp,
} from '../src/egress/plan.js';
import { snatScript } from '../src/egress/snat.js';

const v4: EgressAddInput = {
  family: 4,
  network: 'aws-cni',
  containerId: 'abc123',
  ifName: 'eth0',
  netns: '/var/run/netns/p1',
  ip: '169.254.172.2',
  prefixLen: 22,
  gateway: '169.254.172.1',
  routes: [{ dst: '0.0.0.0/0' }],
  mtu: 9001,
  nodeIP: '10.0.0.5',
  snat: 'random-fully',
  hostIf: 'veth0a1b2c3d',
  hostMac: '0a:00:00:00:00:01',
  contMac: '0a:00:00:00:00:02',
};
const v6: EgressAddInput = {
  ...v4,
  family: 6,
  ip: 'fd00::ac:2',
  prefixLen: 118,
  gateway: 'fd00::ac:1',
  routes: [{ dst: '::/0' }],
  nodeIP: '2600:1f14:abc:de01::5',
  snat: 'hashrandom',
};
const C = '-m comment --comment "name: \\"aws-cni\\" id: \\"abc123\\""';

describe('egress plan', () => {
  it('chain names as upstream: CNI-E4-/E6- + sha512(name+id), 28 characters', () => {
    expect(chainName(4, 'aws-cni', 'abc123')).toBe('CNI-E4-06d858a767a0bdc20aa59');
    expect(chainName(6, 'aws-cni', 'abc123')).toBe('CNI-E6-06d858a767a0bdc20aa59');
  });

  it('EUI-64 link-local of a MAC and global unicast IPv6', () => {
    expect(linkLocalOf('0a:00:00:00:00:01')).toBe('fe80::800:ff:fe00:1');
    expect(linkLocalOf('52:54:00:12:34:56')).toBe('fe80::5054:ff:fe12:3456');
    expect(() => linkLocalOf('nope')).toThrow(/not a MAC/);
    expect(isGlobalUnicast6('2600:1f14::5')).toBe(true);
    expect(isGlobalUnicast6('fd00::1')).toBe(true); // ULA counts, as Go's IsGlobalUnicast
    for (const ip of ['::', '::1', 'fe80::1', 'ff02::1']) expect(isGlobalUnicast6(ip), ip).toBe(false);
  });

  it('IPv4 egress for an IPv6 pod: the exact op list', () => {
    const p = planEgressAdd(v4);
    expect(p.ops).toEqual([
      { op: 'sysctl', ns: 'host', key: 'net/ipv4/ip_forward', value: '1', optional: false },
      { op: 'linkDel', ns: 'pod', name: 'v4if0' },
      {
        op: 'vethAdd',
        contIf: 'v4if0',
        hostIf: 'veth0a1b2c3d',
        hostMac: '0a:00:00:00:00:01',
        mtu: 9001,
        contMac: '0a:00:00:00:00:02',
      },
      { op: 'sysctl', ns: 'host', key: 'net/ipv6/conf/veth0a1b2c3d/accept_ra', value: '0', optional: true },
      { op: 'linkUp', ns: 'host', name: 'veth0a1b2c3d' },
      { op: 'linkUp', ns: 'pod', name: 'v4if0' },
      { op: 'addrAdd', ns: 'pod', dev: 'v4if0', cidr: '169.254.172.2/22' },
      { op: 'routeDel', ns: 'pod', dst: '169.254.172.0/22', table: 254, dev: 'v4if0' },
      {
        op: 'routeAdd',
        ns: 'pod',
        dst: '169.254.172.1/32',
        dev: 'v4if0',
        scopeLink: true,
        table: 254,
        src: '169.254.172.2',
      },
      {
        op: 'routeAdd',
        ns: 'pod',
        dst: '169.254.172.0/22',
        gw: '169.254.172.1',
        dev: 'v4if0',
        scopeLink: false,
        table: 254,
        src: '169.254.172.2',
      },
      {
        op: 'routeReplace',
        ns: 'pod',
        dst: '0.0.0.0/0',
        gw: '169.254.172.1',
        dev: 'v4if0',
        scopeLink: false,
        table: 254,
      },
      { op: 'addrAdd', ns: 'host', dev: 'veth0a1b2c3d', cidr: '169.254.172.1/32', scopeLink: true },
      {
        op: 'routeReplace',
        ns: 'host',
        dst: '169.254.172.2/32',
        dev: 'veth0a1b2c3d',
        scopeLink: true,
        table: 254,
      },
      {
        op: 'snatAdd',
        family: 4,
        chain: 'CNI-E4-06d858a767a0bdc20aa59',
        rules: [`-d 224.0.0.0/4 ${C} -j ACCEPT`, `${C} -j SNAT --to-source 10.0.0.5 --random-fully`],
        jump: `-s 169.254.172.2/32 ${C} -j CNI-E4-06d858a767a0bdc20aa59`,
      },
    ]);
    expect(p.interfaces).toEqual([
      { name: 'veth0a1b2c3d', mac: '0a:00:00:00:00:01' },
      { name: 'v4if0', mac: '0a:00:00:00:00:02', sandbox: '/var/run/netns/p1' },
    ]);
  });

  it('IPv6 egress for an IPv4 pod: eth0 without IPv6, v6if0 via the host veth link-local, --random', () => {
    const ops = planEgressAdd(v6).ops;
    expect(ops[0]).toEqual({
      op: 'sysctl',
      ns: 'pod',
      key: 'net/ipv6/conf/eth0/disable_ipv6',
      value: '1',
      optional: true,
    });
    expect(ops.map((o) => o.op)).toEqual([
      'sysctl',
      'linkDel',
      'vethAdd',
      'sysctl',
      'linkUp',
      'linkUp',
      'sysctl',
      'sysctl',
      'addrAdd',
      'neighAdd',
      'routeReplace',
      'waitDad',
      'routeReplace',
      'neighAdd',
      'snatAdd',
    ]);
    expect(ops).toContainEqual({
      op: 'routeReplace',
      ns: 'pod',
      dst: '::/0',
      gw: 'fe80::800:ff:fe00:1',
      dev: 'v6if0',
      scopeLink: false,
      table: 254,
    });
    expect(ops).toContainEqual({
      op: 'neighAdd',
      ns: 'host',
      dev: 'veth0a1b2c3d',
      ip: 'fd00::ac:2',
      lladdr: '0a:00:00:00:00:02',
    });
    expect(ops.at(-1)).toEqual({
      op: 'snatAdd',
      family: 6,
      chain: 'CNI-E6-06d858a767a0bdc20aa59',
      rules: [`-d ff00::/8 ${C} -j ACCEPT`, `${C} -j SNAT --to-source 2600:1f14:abc:de01::5 --random`],
      jump: `-s fd00::ac:2/128 ${C} -j CNI-E6-06d858a767a0bdc20aa59`,
    });
  });

  it('no node IP: IPv4 egress without SNAT (as upstream); randomizeSNAT none: no flag', () => {
    expect(planEgressAdd({ ...v4, nodeIP: '' }).ops.some((o) => o.op === 'snatAdd')).toBe(false);
    expect(snatOp({ ...v4, snat: 'none' }).rules[1]).toBe(`${C} -j SNAT --to-source 10.0.0.5`);
  });

  it('rollback of every applied prefix: SNAT chain, host route, then the veth from the pod end', () => {
    const ops = planEgressAdd(v4).ops;
    for (let k = 0; k <= ops.length; k++) {
      const undo = egressRollback(ops.slice(0, k));
      const hasVeth = k >= 3;
      expect(undo.some((o) => o.op === 'linkDel' && o.ns === 'pod' && o.name === 'v4if0')).toBe(hasVeth);
      expect(undo.some((o) => o.op === 'snatDel')).toBe(k === ops.length);
      // Nothing undone in the host netns but our own route and chain (never a link by its random name).
      expect(undo.filter((o) => 'ns' in o && o.ns === 'host').every((o) => o.op === 'routeDel')).toBe(true);
    }
    expect(egressRollback(ops)).toEqual([
      { op: 'snatDel', family: 4, chain: 'CNI-E4-06d858a767a0bdc20aa59' },
      { op: 'routeDel', ns: 'host', dst: '169.254.172.2/32', table: 254, dev: 'veth0a1b2c3d' },
      { op: 'linkDel', ns: 'pod', name: 'v4if0' },
    ]);
  });

  it('DEL: the chain by name always, the veth only with a live netns', () => {
    expect(planEgressDel({ family: 6, network: 'aws-cni', containerId: 'abc123', podNetns: true })).toEqual([
      { op: 'snatDel', family: 6, chain: 'CNI-E6-06d858a767a0bdc20aa59' },
      { op: 'linkDel', ns: 'pod', name: 'v6if0' },
    ]);
    expect(planEgressDel({ family: 4, network: 'aws-cni', containerId: 'abc123', podNetns: false })).toEqual([
      { op: 'snatDel', family: 4, chain: 'CNI-E4-06d858a767a0bdc20aa59' },
    ]);
  });
});

const save = (lines: string[]) =>
  ['*nat', ':PREROUTING ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...lines, 'COMMIT', ''].join('\n');

describe('egress SNAT scripts', () => {
  const add = snatOp(v4);
  const chain = add.chain;
  const other = '-s 10.1.0.0/16 -m comment --comment "AWS SNAT" -j AWS-SNAT-CHAIN-0';

  it('creates chain and jump; converged state sends nothing', () => {
    expect(snatScript(save([`-A POSTROUTING ${other}`]), add)).toBe(
      [
        '*nat',
        `:${chain} - [0:0]`,
        `-A ${chain} ${add.rules[0]}`,
        `-A ${chain} ${add.rules[1]}`,
        `-A POSTROUTING ${add.jump}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
    const live = save([
      `:${chain} - [0:0]`,
      `-A POSTROUTING ${other}`,
      `-A POSTROUTING ${add.jump}`,
      ...add.rules.map((r) => `-A ${chain} ${r}`),
    ]);
    expect(snatScript(live, add)).toBe('');
  });

  it('a stale jump of the same chain (old address) is replaced; other rules untouched', () => {
    const stale = `-s 169.254.172.9/32 ${C} -j ${chain}`;
    const live = save([
      `:${chain} - [0:0]`,
      `-A POSTROUTING ${stale}`,
      ...add.rules.map((r) => `-A ${chain} ${r}`),
    ]);
    expect(snatScript(live, add)).toBe(`*nat\n-D POSTROUTING ${stale}\n-A POSTROUTING ${add.jump}\nCOMMIT\n`);
  });

  it('delete: jumps then chain; absent is a no-op', () => {
    const del = { op: 'snatDel' as const, family: 4 as const, chain };
    const live = save([`:${chain} - [0:0]`, `-A POSTROUTING ${other}`, `-A POSTROUTING ${add.jump}`]);
    expect(snatScript(live, del)).toBe(
      `*nat\n-D POSTROUTING ${add.jump}\n-F ${chain}\n-X ${chain}\nCOMMIT\n`,
    );
    expect(snatScript(save([`-A POSTROUTING ${other}`]), del)).toBe('');
    expect(snatScript('', del)).toBe('');
  });
});
