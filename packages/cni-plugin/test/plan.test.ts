import { describe, expect, it } from 'vitest';
import { AddNetworkReply } from '@vpc-cni/shared/rpc';
import { planAdd, type AddInput } from '../src/plan/add.js';
import { branchTeardown, ordinaryTeardown, rollbackOps } from '../src/plan/teardown.js';
import type { Op } from '../src/plan/ops.js';
import { CniError } from '../src/cni/errors.js';

const MAC = '02:11:22:33:44:55';
function input(reply: Partial<AddNetworkReply>, extra: Partial<AddInput> = {}): AddInput {
  return {
    reply: AddNetworkReply.fromPartial({ Success: true, ...reply }),
    podNamespace: 'default',
    podName: 'nginx',
    ifName: 'eth0',
    netns: '/var/run/netns/cni-1234',
    vethPrefix: 'eni',
    mtu: 9001,
    sgMode: 'strict',
    hostMacs: [MAC, '02:00:00:00:00:02'],
    ...extra,
  };
}
const branch = {
  IPAllocationMetadata: [{ IPv4Addr: '10.0.32.57', IPv6Addr: '', DeviceNumber: -1, RouteTableId: 0 }],
  PodVlanId: 7,
  PodENIMAC: '0a:00:00:00:00:07',
  PodENISubnetGW: '10.0.32.1',
  ParentIfIndex: 3,
};
const hostOps = (ops: Op[]) => ops.filter((o) => 'ns' in o && o.ns === 'host' && o.op !== 'sysctl');

describe('planAdd', () => {
  it('primary ENI IPv4 pod: veth, pod routes, neighbour, main route and prio-512 rule only', () => {
    const p = planAdd(
      input({
        IPAllocationMetadata: [{ IPv4Addr: '10.0.1.23', IPv6Addr: '', DeviceNumber: 0, RouteTableId: 254 }],
      }),
    );
    expect(p.ops).toEqual([
      { op: 'linkDel', ns: 'host', name: 'enic440f455693' },
      { op: 'vethAdd', contIf: 'eth0', hostIf: 'enic440f455693', hostMac: MAC, mtu: 9001 },
      { op: 'sysctl', ns: 'host', key: 'net/ipv6/conf/enic440f455693/accept_ra', value: '0', optional: true },
      {
        op: 'sysctl',
        ns: 'host',
        key: 'net/ipv6/conf/enic440f455693/accept_redirects',
        value: '1',
        optional: true,
      },
      {
        op: 'sysctl',
        ns: 'host',
        key: 'net/ipv6/conf/enic440f455693/forwarding',
        value: '0',
        optional: true,
      },
      { op: 'linkUp', ns: 'host', name: 'enic440f455693' },
      { op: 'linkUp', ns: 'pod', name: 'eth0' },
      { op: 'routeReplace', ns: 'pod', dst: '169.254.1.1/32', dev: 'eth0', scopeLink: true, table: 254 },
      {
        op: 'routeAdd',
        ns: 'pod',
        dst: '0.0.0.0/0',
        gw: '169.254.1.1',
        dev: 'eth0',
        scopeLink: false,
        table: 254,
      },
      { op: 'addrAdd', ns: 'pod', dev: 'eth0', cidr: '10.0.1.23/32' },
      { op: 'neighAdd', ns: 'pod', dev: 'eth0', ip: '169.254.1.1', lladdr: MAC },
      {
        op: 'routeReplace',
        ns: 'host',
        dst: '10.0.1.23/32',
        dev: 'enic440f455693',
        scopeLink: true,
        table: 254,
      },
      { op: 'ruleAdd', ns: 'host', family: 4, priority: 512, to: '10.0.1.23/32', table: 254 },
    ]);
    expect(p.result.interfaces).toEqual([
      { name: 'enic440f455693' },
      { name: 'eth0', sandbox: '/var/run/netns/cni-1234', mac: '254' },
      { name: 'dummyc440f455693', mac: '0', sandbox: '0' },
    ]);
    expect(p.result.ips).toEqual([{ interface: 1, address: '10.0.1.23/32' }]);
  });

  it('secondary ENI pod adds the prio-1536 rule to its table; table 1 means main', () => {
    const p = planAdd(
      input({
        IPAllocationMetadata: [{ IPv4Addr: '10.0.1.23', IPv6Addr: '', DeviceNumber: 2, RouteTableId: 3 }],
      }),
    );
    expect(hostOps(p.ops).slice(-3)).toEqual([
      {
        op: 'routeReplace',
        ns: 'host',
        dst: '10.0.1.23/32',
        dev: 'enic440f455693',
        scopeLink: true,
        table: 254,
      },
      { op: 'ruleAdd', ns: 'host', family: 4, priority: 512, to: '10.0.1.23/32', table: 254 },
      { op: 'ruleAdd', ns: 'host', family: 4, priority: 1536, from: '10.0.1.23/32', table: 3 },
    ]);
    expect(p.result.interfaces[2]).toEqual({ name: 'dummyc440f455693', mac: '0', sandbox: '2' });
    const t1 = planAdd(
      input({
        IPAllocationMetadata: [{ IPv4Addr: '10.0.1.23', IPv6Addr: '', DeviceNumber: 0, RouteTableId: 1 }],
      }),
    );
    expect(t1.ops.some((o) => o.op === 'ruleAdd' && o.priority === 1536)).toBe(false);
  });

  it('IPv6 pod: /128, fe80::1, disable_ipv6=0 and DAD wait', () => {
    const p = planAdd(
      input({
        IPAllocationMetadata: [
          { IPv4Addr: '', IPv6Addr: '2001:db8:1:2::5', DeviceNumber: 0, RouteTableId: 254 },
        ],
      }),
    );
    expect(p.ops).toContainEqual({
      op: 'routeAdd',
      ns: 'pod',
      dst: '::/0',
      gw: 'fe80::1',
      dev: 'eth0',
      scopeLink: false,
      table: 254,
    });
    expect(p.ops).toContainEqual({
      op: 'sysctl',
      ns: 'pod',
      key: 'net/ipv6/conf/eth0/disable_ipv6',
      value: '0',
      optional: true,
    });
    expect(p.ops).toContainEqual({ op: 'neighAdd', ns: 'pod', dev: 'eth0', ip: 'fe80::1', lladdr: MAC });
    expect(p.ops.at(-3)).toEqual({ op: 'waitDad', ns: 'pod', dev: 'eth0', timeoutMs: 10000 });
    expect(p.ops.at(-1)).toEqual({
      op: 'ruleAdd',
      ns: 'host',
      family: 6,
      priority: 512,
      to: '2001:db8:1:2::5/128',
      table: 254,
    });
    expect(p.result.ips).toEqual([{ interface: 1, address: '2001:db8:1:2::5/128' }]);
  });

  it('branch pod strict: vlan prefix, VLAN link, table 107, pod route in 107, prio-10 iif rules', () => {
    const p = planAdd(input(branch));
    expect(p.attachments[0]).toMatchObject({ hostIf: 'vlanc440f455693', table: 107 });
    expect(hostOps(p.ops).slice(2)).toEqual([
      { op: 'ruleDelAll', ns: 'host', family: 4, priority: 10, iif: 'vlanc440f455693' },
      { op: 'linkDel', ns: 'host', name: 'vlan.eth.7' },
      { op: 'linkUp', ns: 'host', name: 'vlan.eth.7' },
      { op: 'routeReplace', ns: 'host', dst: '10.0.32.1/32', dev: 'vlan.eth.7', scopeLink: true, table: 107 },
      {
        op: 'routeReplace',
        ns: 'host',
        dst: '0.0.0.0/0',
        gw: '10.0.32.1',
        dev: 'vlan.eth.7',
        scopeLink: false,
        table: 107,
      },
      {
        op: 'routeReplace',
        ns: 'host',
        dst: '10.0.32.57/32',
        dev: 'vlanc440f455693',
        scopeLink: true,
        table: 107,
      },
      { op: 'ruleAdd', ns: 'host', family: 4, priority: 10, iif: 'vlan.eth.7', table: 107 },
      { op: 'ruleAdd', ns: 'host', family: 4, priority: 10, iif: 'vlanc440f455693', table: 107 },
    ]);
    expect(p.ops).toContainEqual({
      op: 'vlanAdd',
      name: 'vlan.eth.7',
      vlanId: 7,
      parentIndex: 3,
      mac: '0a:00:00:00:00:07',
    });
    expect(p.result).toEqual({
      interfaces: [
        { name: 'vlanc440f455693' },
        { name: 'eth0', sandbox: '/var/run/netns/cni-1234', mac: '0' },
        { name: 'dummyc440f455693', mac: '7' },
      ],
      ips: [{ interface: 1, address: '10.0.32.57/32', gateway: '10.0.32.1' }],
    });
  });
  it('branch pod standard: conflist prefix, main route, 512 and 1536 rules to table 107', () => {
    const p = planAdd(input(branch, { sgMode: 'standard' }));
    expect(p.ops.slice(-3)).toEqual([
      {
        op: 'routeReplace',
        ns: 'host',
        dst: '10.0.32.57/32',
        dev: 'enic440f455693',
        scopeLink: true,
        table: 254,
      },
      { op: 'ruleAdd', ns: 'host', family: 4, priority: 512, to: '10.0.32.57/32', table: 254 },
      { op: 'ruleAdd', ns: 'host', family: 4, priority: 1536, from: '10.0.32.57/32', table: 107 },
    ]);
  });
  it('multi-NIC pod: one veth per entry, pod tables and prio-1 rules, result indexes 1 and 3', () => {
    const p = planAdd(
      input({
        IPAllocationMetadata: [
          { IPv4Addr: '10.0.1.23', IPv6Addr: '', DeviceNumber: 0, RouteTableId: 254 },
          { IPv4Addr: '10.1.0.9', IPv6Addr: '', DeviceNumber: 0, RouteTableId: 10100 },
        ],
      }),
    );
    expect(p.attachments.map((a) => [a.hostIf, a.contIf, a.table])).toEqual([
      ['enic440f455693', 'eth0', 254],
      ['enie48ae9c2f34', 'mNicIf1', 10100],
    ]);
    expect(p.ops).toContainEqual({
      op: 'ruleAdd',
      ns: 'pod',
      family: 4,
      priority: 1,
      from: '10.1.0.9/32',
      table: 1,
    });
    expect(p.ops).toContainEqual({
      op: 'routeReplace',
      ns: 'pod',
      dst: '169.254.1.2/32',
      dev: 'mNicIf1',
      scopeLink: true,
      table: 1,
    });
    expect(p.result.ips.map((i) => i.interface)).toEqual([1, 3]);
    expect(p.result.interfaces).toHaveLength(5);
  });
  it('a success reply without a usable address is a clear error, not a crash', () => {
    expect(() => planAdd(input({}))).toThrow(CniError);
    expect(() =>
      planAdd(
        input({ IPAllocationMetadata: [{ IPv4Addr: '', IPv6Addr: '', DeviceNumber: 0, RouteTableId: 254 }] }),
      ),
    ).toThrow(/usable address/);
    expect(() => planAdd(input({ ...branch, PodENISubnetGW: '' }))).toThrow(/branch ENI/);
  });
});

describe('teardown and rollback plans', () => {
  it('ordinary teardown removes 512/1536 rules and the main route', () => {
    expect(ordinaryTeardown('10.0.1.23', 3)).toEqual([
      { op: 'ruleDelAll', ns: 'host', family: 4, priority: 512, to: '10.0.1.23/32', table: 254 },
      { op: 'ruleDelAll', ns: 'host', family: 4, priority: 1536, from: '10.0.1.23/32', table: 3 },
      { op: 'routeDel', ns: 'host', dst: '10.0.1.23/32', table: 254 },
    ]);
    expect(ordinaryTeardown('10.0.1.23', 1)).toHaveLength(2);
  });
  it('branch teardown deletes the VLAN and prio-10 rules first', () => {
    expect(branchTeardown('2001:db8::7', 7).slice(0, 2)).toEqual([
      { op: 'linkDel', ns: 'host', name: 'vlan.eth.7' },
      { op: 'ruleDelAll', ns: 'host', family: 6, priority: 10, table: 107 },
    ]);
  });
  it('rollback inverts host-side ops in reverse order and deletes the veth', () => {
    const p = planAdd(input(branch));
    const undo = rollbackOps(p.ops);
    expect(undo).toEqual([
      { op: 'ruleDelAll', ns: 'host', family: 4, priority: 10, table: 107, iif: 'vlanc440f455693' },
      { op: 'ruleDelAll', ns: 'host', family: 4, priority: 10, table: 107, iif: 'vlan.eth.7' },
      { op: 'routeDel', ns: 'host', dst: '10.0.32.57/32', table: 107, dev: 'vlanc440f455693' },
      { op: 'routeDel', ns: 'host', dst: '0.0.0.0/0', table: 107, dev: 'vlan.eth.7' },
      { op: 'routeDel', ns: 'host', dst: '10.0.32.1/32', table: 107, dev: 'vlan.eth.7' },
      { op: 'linkDel', ns: 'host', name: 'vlan.eth.7' },
      { op: 'linkDel', ns: 'host', name: 'vlanc440f455693' },
    ]);
    expect(rollbackOps(p.ops.slice(0, 1))).toEqual([]);
  });
});
