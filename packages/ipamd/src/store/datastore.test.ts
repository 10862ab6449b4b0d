import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Datastore, type DatastoreOptions, DatastoreError, NO_AVAILABLE, type IpamKey } from './index.js';

const key = (c: string, net = 'aws-cni', ifName = 'eth0'): IpamKey => ({
  networkName: net,
  containerID: c,
  ifName,
});
const meta = (name: string) => ({ k8sPodNamespace: 'default', k8sPodName: name, interfacesCount: 1 });

function store(o: Partial<DatastoreOptions> = {}) {
  let now = 0;
  const ds = new Datastore({
    family: 4,
    prefixDelegation: false,
    cooldownMs: 30_000,
    nowMs: () => now,
    ...o,
  });
  return { ds, advance: (ms: number) => (now += ms) };
}

describe('datastore: secondary IPs', () => {
  it('packs pods onto the lowest device number and address; the same key gets the same address', () => {
    const { ds } = store();
    ds.addEni({ id: 'eni-b', deviceNumber: 1, routeTableId: 2 });
    ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254, isPrimary: true });
    ds.addCidr('eni-b', '10.0.2.5/32', false);
    ds.addCidr('eni-a', '10.0.1.9/32', false);
    ds.addCidr('eni-a', '10.0.1.7/32', false);
    expect(ds.assign(key('c1'), meta('p1'))).toEqual({
      address: '10.0.1.7',
      family: 4,
      eniId: 'eni-a',
      deviceNumber: 0,
      routeTableId: 254,
    });
    expect(ds.assign(key('c2'), meta('p2')).address).toBe('10.0.1.9');
    expect(ds.assign(key('c3'), meta('p3'))).toMatchObject({
      address: '10.0.2.5',
      deviceNumber: 1,
      routeTableId: 2,
    });
    expect(ds.assign(key('c1'), meta('other')).address).toBe('10.0.1.7');
    expect(() => ds.assign(key('c4'), meta('p4'))).toThrow(NO_AVAILABLE);
    expect(ds.stats()).toEqual({
      totalIPs: 3,
      assignedIPs: 3,
      coolingIPs: 0,
      availableIPs: 0,
      totalPrefixes: 0,
      freePrefixes: 0,
    });
  });

  it('a released address cools down before it is handed out again, and counts as available meanwhile', () => {
    const { ds, advance } = store();
    ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254 });
    ds.addCidr('eni-a', '10.0.1.7/32', false);
    ds.assign(key('c1'), meta('p1'));
    expect(ds.unassign(key('c1'))).toMatchObject({ address: '10.0.1.7', key: key('c1') });
    expect(ds.stats()).toMatchObject({ assignedIPs: 0, coolingIPs: 1, availableIPs: 1 });
    expect(() => ds.assign(key('c2'), meta('p2'))).toThrow(NO_AVAILABLE);
    advance(30_001);
    expect(ds.assign(key('c2'), meta('p2')).address).toBe('10.0.1.7');
  });

  it('unassigning an unknown key answers undefined; the legacy CRI key is the fallback', () => {
    const { ds } = store();
    ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254 });
    ds.addCidr('eni-a', '10.0.1.7/32', false);
    expect(ds.unassign(key('nope'))).toBeUndefined();
    ds.restore([
      {
        key: { networkName: '_migrated-from-cri', containerID: 'old', ifName: 'unknown' },
        address: '10.0.1.7',
        family: 4,
        metadata: meta('legacy'),
        assignedAtNs: 1n,
      },
    ]);
    expect(ds.unassign(key('old'))?.address).toBe('10.0.1.7');
  });

  it('refuses to remove an ENI or CIDR in use unless forced, and reports what force released', () => {
    const { ds } = store();
    ds.addEni({ id: 'eni-a', deviceNumber: 1, routeTableId: 2 });
    ds.addCidr('eni-a', '10.0.1.7/32', false);
    ds.assign(key('c1'), meta('p1'));
    expect(() => ds.delCidr('eni-a', '10.0.1.7/32')).toThrow('datastore: IP is used and can not be deleted');
    expect(() => ds.removeEni('eni-a')).toThrow('datastore: ENI is used and can not be deleted');
    expect(ds.removeEni('eni-a', true).map((r) => r.address)).toEqual(['10.0.1.7']);
    expect(ds.lookup(key('c1'))).toBeUndefined();
    expect(() => ds.addCidr('eni-a', '10.0.1.8/32', false)).toThrow(DatastoreError);
  });

  it('excluded ENIs give no pod addresses and do not count', () => {
    const { ds } = store();
    ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254, excludedForPods: true });
    ds.addCidr('eni-a', '10.0.1.7/32', false);
    expect(ds.stats().totalIPs).toBe(0);
    expect(() => ds.assign(key('c1'), meta('p1'))).toThrow(NO_AVAILABLE);
  });
});

describe('datastore: prefixes', () => {
  it('PD mode walks a /28 from its base, all 16 usable; secondary IPs left over are ignored', () => {
    const { ds } = store({ prefixDelegation: true });
    ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254 });
    ds.addCidr('eni-a', '10.0.1.99/32', false);
    ds.addCidr('eni-a', '10.0.1.16/28', true);
    const got = Array.from({ length: 16 }, (_, i) => ds.assign(key(`c${i}`), meta(`p${i}`)).address);
    expect(got[0]).toBe('10.0.1.16');
    expect(got[15]).toBe('10.0.1.31');
    expect(() => ds.assign(key('c16'), meta('p16'))).toThrow(NO_AVAILABLE);
    expect(ds.stats()).toMatchObject({ totalIPs: 16, assignedIPs: 16, totalPrefixes: 1, freePrefixes: 0 });
  });

  it('IPv6 mode hands out the /80 base address first, then ::1', () => {
    const { ds } = store({ family: 6, prefixDelegation: true });
    ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254 });
    ds.addCidr('eni-a', '2600:1f14:abc:de01:1234::/80', true);
    expect(ds.assign(key('c1'), meta('p1')).address).toBe('2600:1f14:abc:de01:1234::');
    expect(ds.assign(key('c2'), meta('p2')).address).toBe('2600:1f14:abc:de01:1234::1');
    expect(ds.stats().totalIPs).toBe(2 ** 48);
  });
});

describe('datastore: restore and quarantine', () => {
  const alloc = (c: string, address: string) => ({
    key: key(c),
    address,
    family: 4 as const,
    metadata: meta(c),
    assignedAtNs: 1763856000123456789n,
  });

  it('keeps an allocation whose address is on no ENI, re-attaches it when its CIDR arrives', () => {
    const { ds } = store();
    ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254 });
    ds.addCidr('eni-a', '10.0.1.7/32', false);
    const r = ds.restore([alloc('c1', '10.0.1.7'), alloc('c2', '10.0.9.9')]);
    expect(r.restored).toBe(1);
    expect(r.quarantined.map((a) => a.address)).toEqual(['10.0.9.9']);
    expect(ds.allocations().map((a) => [a.allocation.address, a.quarantined])).toEqual([
      ['10.0.1.7', false],
      ['10.0.9.9', true],
    ]);
    expect(() => ds.assign(key('c2'), meta('c2'))).toThrow(/quarantined/);
    ds.addEni({ id: 'eni-b', deviceNumber: 1, routeTableId: 2 });
    expect(ds.addCidr('eni-b', '10.0.9.9/32', false).map((a) => a.key.containerID)).toEqual(['c2']);
    expect(ds.lookup(key('c2'))).toMatchObject({ address: '10.0.9.9', eniId: 'eni-b' });
    expect(ds.quarantinedAllocations()).toEqual([]);
  });

  it('two allocations claiming one address is a start-up error', () => {
    const { ds } = store();
    ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254 });
    ds.addCidr('eni-a', '10.0.1.7/32', false);
    expect(() => ds.restore([alloc('c1', '10.0.1.7'), alloc('c2', '10.0.1.7')])).toThrow(/claimed twice/);
  });
});

describe('datastore: random operation sequences (property)', () => {
  type Cmd =
    | { t: 'eni'; n: number }
    | { t: 'ip'; eni: number; host: number }
    | { t: 'prefix'; eni: number; n: number }
    | { t: 'assign'; c: number }
    | { t: 'release'; c: number }
    | { t: 'tick' }
    | { t: 'remove'; eni: number; force: boolean };
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    fc.record({ t: fc.constant('eni' as const), n: fc.nat(4) }),
    fc.record({ t: fc.constant('ip' as const), eni: fc.nat(4), host: fc.nat(40) }),
    fc.record({ t: fc.constant('prefix' as const), eni: fc.nat(4), n: fc.nat(3) }),
    fc.record({ t: fc.constant('assign' as const), c: fc.nat(30) }),
    fc.record({ t: fc.constant('assign' as const), c: fc.nat(30) }),
    fc.record({ t: fc.constant('release' as const), c: fc.nat(30) }),
    fc.record({ t: fc.constant('tick' as const) }),
    fc.record({ t: fc.constant('remove' as const), eni: fc.nat(4), force: fc.boolean() }),
  );

  it('never hands one address to two keys, never loses an assigned address, keeps counters consistent', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(cmd, { maxLength: 120 }), (pd, cmds) => {
        const { ds, advance } = store({ prefixDelegation: pd, cooldownMs: 1000 });
        const model = new Map<string, string>(); // containerID -> address we were given
        for (const c of cmds) {
          try {
            if (c.t === 'eni') ds.addEni({ id: `eni-${c.n}`, deviceNumber: c.n, routeTableId: c.n + 1 });
            else if (c.t === 'ip') ds.addCidr(`eni-${c.eni}`, `10.${c.eni}.0.${c.host + 100}/32`, false);
            else if (c.t === 'prefix') ds.addCidr(`eni-${c.eni}`, `10.${c.eni}.1.${c.n * 16}/28`, true);
            else if (c.t === 'assign') {
              const a = ds.assign(key(`c${c.c}`), meta(`p${c.c}`));
              const had = model.get(`c${c.c}`);
              if (had !== undefined) expect(a.address).toBe(had);
              model.set(`c${c.c}`, a.address);
            } else if (c.t === 'release') {
              const r = ds.unassign(key(`c${c.c}`));
              expect(r?.address).toBe(model.get(`c${c.c}`));
              model.delete(`c${c.c}`);
            } else if (c.t === 'tick') advance(600);
            else for (const r of ds.removeEni(`eni-${c.eni}`, c.force)) model.delete(r.key.containerID);
          } catch (e) {
            if (!(e instanceof DatastoreError)) throw e;
          }
          const allocs = ds.allocations();
          const addresses = allocs.map((a) => a.allocation.address);
          expect(new Set(addresses).size).toBe(addresses.length);
          expect(new Map(allocs.map((a) => [a.allocation.key.containerID, a.allocation.address]))).toEqual(
            model,
          );
          const s = ds.stats();
          expect(s.assignedIPs).toBe(model.size);
          expect(s.availableIPs).toBe(s.totalIPs - s.assignedIPs);
          expect(s.coolingIPs).toBeLessThanOrEqual(s.availableIPs);
        }
      }),
      { numRuns: 300 },
    );
  });
});
