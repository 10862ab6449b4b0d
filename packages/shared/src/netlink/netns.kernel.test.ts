// withNetns and sysctls against the real kernel.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetlinkError } from './index.js';
import { Netlink, currentNetnsId, sysctlGet, sysctlSet, withNetns } from './index.js';
import { type TestNetns, createTestNetns } from '../../test/netns-fixture.js';

describe('withNetns (kernel)', () => {
  let ns: TestNetns;
  beforeAll(() => {
    ns = createTestNetns('nlns');
  });
  afterAll(() => ns?.remove());

  it('runs inside the namespace and returns to the original one', () => {
    const original = currentNetnsId();
    const inside = withNetns(ns.path, () => currentNetnsId());
    expect(inside).toBe(`net:[${statSync(ns.path).ino}]`);
    expect(inside).not.toBe(original);
    expect(currentNetnsId()).toBe(original);
  });

  it('returns to the original namespace when the function throws', () => {
    const original = currentNetnsId();
    expect(() =>
      withNetns(ns.path, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(currentNetnsId()).toBe(original);
  });

  it('refuses an async function and still returns', () => {
    const original = currentNetnsId();
    expect(() => withNetns(ns.path, () => Promise.resolve(1))).toThrow(/synchronous/);
    expect(currentNetnsId()).toBe(original);
  });

  it('throws ENOENT for a namespace that does not exist, before any change', () => {
    const original = currentNetnsId();
    let err: unknown;
    try {
      withNetns('/var/run/netns/vct-does-not-exist', () => 1);
    } catch (e) {
      err = e;
    }
    expect((err as NetlinkError).code).toBe('ENOENT');
    expect(currentNetnsId()).toBe(original);
  });

  it('a socket opened for a namespace stays bound to it', () => {
    const nl = Netlink.open(ns.path);
    try {
      nl.link.addVeth('bound0', { name: 'bound1' });
      expect(ns.ipj(['link', 'show', 'bound0'])).toHaveLength(1);
    } finally {
      nl.close();
    }
  });

  it('reads and writes sysctls as seen from the namespace', () => {
    const hostForward = sysctlGet('net.ipv4.ip_forward');
    sysctlSet('net.ipv4.ip_forward', 1, ns.path);
    expect(sysctlGet('net/ipv4/ip_forward', ns.path)).toBe('1');
    expect(ns.ip(['netns', 'exec', ns.name, 'cat', '/proc/sys/net/ipv4/ip_forward']).trim()).toBe('1');
    sysctlSet('net.ipv4.ip_forward', 0, ns.path);
    expect(sysctlGet('net.ipv4.ip_forward', ns.path)).toBe('0');
    expect(sysctlGet('net.ipv4.ip_forward')).toBe(hostForward);
  });
});
