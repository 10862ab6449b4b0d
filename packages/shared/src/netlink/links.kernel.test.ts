// Link operations against the real kernel, checked with `ip -j` (iproute2 as the second opinion).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netlink, NetlinkError } from './index.js';
import { type TestNetns, createTestNetns, kernelHasLinkKind } from '../../test/netns-fixture.js';

interface IpLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  address: string;
  flags: string[];
  link?: string;
  link_netnsid?: number;
}

describe('netlink links (kernel)', () => {
  let a: TestNetns;
  let b: TestNetns;
  let nl: Netlink;
  beforeAll(() => {
    a = createTestNetns('nla');
    b = createTestNetns('nlb');
    nl = Netlink.open(a.path);
  });
  afterAll(() => {
    nl?.close();
    a?.remove();
    b?.remove();
  });

  it('lists and gets links by name and index', () => {
    const lo = nl.link.get('lo');
    expect(lo.index).toBe(1);
    expect(nl.link.get(1).name).toBe('lo');
    expect(nl.link.list().map((l) => l.name)).toEqual(a.ipj<IpLink>(['link', 'show']).map((l) => l.ifname));
    expect(nl.link.find('nope0')).toBeUndefined();
  });

  it('creates a veth pair with the peer directly in another netns under its final name', () => {
    nl.link.addVeth(
      'hostv0',
      { name: 'eth0', netns: b.path, mtu: 9001, mac: '02:aa:00:00:00:01' },
      { mtu: 9001 },
    );
    const host = a.ipj<IpLink>(['link', 'show', 'hostv0'])[0];
    const pod = b.ipj<IpLink>(['link', 'show', 'eth0'])[0];
    expect(host?.mtu).toBe(9001);
    expect(pod?.mtu).toBe(9001);
    expect(pod?.address).toBe('02:aa:00:00:00:01');
    expect(host?.link_netnsid).toBeDefined(); // the peer lives in another namespace
    expect(nl.link.get('hostv0').kind).toBe('veth');
  });

  it('sets up/down, MTU, MAC and name', () => {
    nl.link.addVeth('t0', { name: 't1' });
    nl.link.setUp('t0');
    expect(a.ipj<IpLink>(['link', 'show', 't0'])[0]?.flags).toContain('UP');
    nl.link.setMtu('t0', 1400);
    nl.link.setMac('t0', '02:bb:00:00:00:02');
    nl.link.rename('t1', 't1new');
    nl.link.setDown('t0');
    const t0 = a.ipj<IpLink>(['link', 'show', 't0'])[0];
    expect(t0?.mtu).toBe(1400);
    expect(t0?.address).toBe('02:bb:00:00:00:02');
    expect(t0?.flags).not.toContain('UP');
    expect(a.ipj<IpLink>(['link', 'show', 't1new'])).toHaveLength(1);
  });

  it('moves a link to another netns', () => {
    nl.link.addVeth('m0', { name: 'm1' });
    nl.link.moveToNetns('m1', b.path);
    expect(nl.link.find('m1')).toBeUndefined();
    expect(b.ipj<IpLink>(['link', 'show', 'm1'])).toHaveLength(1);
  });

  it('deletes links; delIfExists reports whether something was deleted', () => {
    nl.link.addVeth('d0', { name: 'd1' });
    expect(nl.link.delIfExists('d0')).toBe(true);
    expect(nl.link.delIfExists('d0')).toBe(false);
    expect(a.ipj<IpLink>(['link', 'show']).map((l) => l.ifname)).not.toContain('d1');
  });

  it('refuses a duplicate name with EEXIST and names the operation', () => {
    nl.link.addVeth('dup0', { name: 'dup1' });
    let err: unknown;
    try {
      nl.link.addVeth('dup0', { name: 'dup2' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).code).toBe('EEXIST');
    expect((err as NetlinkError).message).toMatch(/link add veth .*dup0.*EEXIST/);
    expect(nl.link.find('dup2')).toBeUndefined();
  });

  it('creates a VLAN on a parent, or reports EOPNOTSUPP when the kernel lacks 802.1Q', () => {
    nl.link.addVeth('trunk0', { name: 'trunk1' });
    if (!kernelHasLinkKind(a, 'vlan')) {
      expect(() => nl.link.addVlan('vlan.7', 'trunk0', 7)).toThrow(/EOPNOTSUPP/);
      return;
    }
    nl.link.addVlan('vlan.7', 'trunk0', 7, { mtu: 1400 });
    const v = nl.link.get('vlan.7');
    expect(v.kind).toBe('vlan');
    expect(v.vlanId).toBe(7);
    expect(v.parentIndex).toBe(nl.link.get('trunk0').index);
  });

  it('creates a dummy link, or reports EOPNOTSUPP when the kernel lacks it', () => {
    if (!kernelHasLinkKind(a, 'dummy')) {
      expect(() => nl.link.addDummy('dm0')).toThrow(/EOPNOTSUPP/);
      return;
    }
    nl.link.addDummy('dm0', { mtu: 1300, up: true });
    expect(a.ipj<IpLink>(['link', 'show', 'dm0'])[0]?.mtu).toBe(1300);
  });
});
