// Rebuilding allocations from host routes when the checkpoint is lost: in a throwaway "node" netns, the /32
// routes aws-cni writes (dev eni*) name the live pod addresses; nothing else counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withNetns } from '@vpc-cni/shared/netlink';
import { type TestNetns, createTestNetns } from '../../shared/test/netns-fixture.js';
import { RECOVERED_NETWORK, recoverFromHostRoutes } from '../src/persistence/recover.js';

describe('recovery from host routes (kernel)', () => {
  let ns: TestNetns;
  beforeAll(() => {
    ns = createTestNetns('rec');
    ns.ip(['link', 'add', 'eni0761ccbeace', 'type', 'veth', 'peer', 'name', 'p1']);
    ns.ip(['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'p2']);
    for (const l of ['eni0761ccbeace', 'eth1']) ns.ip(['link', 'set', l, 'up']);
    ns.ip(['route', 'add', '10.0.1.23/32', 'dev', 'eni0761ccbeace', 'scope', 'link']);
    ns.ip(['-6', 'route', 'add', '2600:1f14::7/128', 'dev', 'eni0761ccbeace']);
    ns.ip(['route', 'add', '10.0.9.0/24', 'dev', 'eni0761ccbeace']); // not a pod route
    ns.ip(['route', 'add', '10.0.1.99/32', 'dev', 'eth1']); // not a pod device
  });
  afterAll(() => ns?.remove());

  it('finds exactly the pod /32 and /128 routes on veth devices with the prefix', () => {
    const got = withNetns(ns.path, () => recoverFromHostRoutes('eni', 5n));
    expect(got.map((a) => [a.address, a.family, a.key.networkName, a.key.ifName])).toEqual([
      ['10.0.1.23', 4, RECOVERED_NETWORK, 'eni0761ccbeace'],
      ['2600:1f14::7', 6, RECOVERED_NETWORK, 'eni0761ccbeace'],
    ]);
  });
});
