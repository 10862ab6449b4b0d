// Checkpoint restore of network cards > 0 when the card's file is corrupt or missing: in a throwaway "node" netns
// with the pod routes aws-cni writes for a multi-NIC pod (eth0 on card 0, mNicIf1 on card 1, each behind its own
// host veth) and one stray route, the card's allocations are rebuilt from the routes to its own addresses; the
// multi-NIC pod gets its key back (so its DEL releases the card-1 address), the stray one a placeholder key.
// Card 0's own recovery leaves card 1's addresses alone.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostVethName } from '@vpc-cni/network-policy-agent/agent-veth';
import { loadIpamdConfig } from '@vpc-cni/shared/config';
import { silentLogger } from '@vpc-cni/shared/logging';
import { withNetns } from '@vpc-cni/shared/netlink';
import { type TestNetns, createTestNetns } from '../../shared/test/netns-fixture.js';
import { type RestoreDeps, restoreCard, restoreCard0 } from '../src/agent/restore.js';
import { ErrorLog } from '../src/http/index.js';
import { Checkpoint, durableAddresses } from '../src/persistence/index.js';
import { RECOVERED_NETWORK, recoverFromHostRoutes } from '../src/persistence/recover.js';
import { cardCheckpointPath } from '../src/service/multi-nic.js';
import { type Allocation, Datastore, type IpamKey } from '../src/store/index.js';

const POD: IpamKey = { networkName: 'aws-cni', containerID: 'c0ffee', ifName: 'eth0' };
const META = { k8sPodNamespace: 'default', k8sPodName: 'p1', interfacesCount: 2 };
const STRAY = 'eni00000000aa';

function card0(): Datastore {
  const ds = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 0 });
  ds.addEni({ id: 'eni-0', deviceNumber: 0, isPrimary: true, routeTableId: 254, subnetCidr: '10.0.1.0/24' });
  ds.addCidr('eni-0', '10.0.1.5/32', false);
  ds.addCidr('eni-0', '10.0.1.6/32', false);
  return ds;
}
function card1(): Datastore {
  const ds = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 0 });
  ds.addEni({ id: 'eni-1', deviceNumber: 0, routeTableId: 10100, subnetCidr: '10.1.1.0/24' });
  for (const a of ['10.1.1.5/32', '10.1.1.9/32', '10.1.1.10/32']) ds.addCidr('eni-1', a, false);
  return ds;
}

describe('network card checkpoint recovery from host routes (kernel)', () => {
  let ns: TestNetns;
  let dir: string;
  let routes: Allocation[];
  beforeAll(() => {
    ns = createTestNetns('cardrec');
    dir = mkdtempSync(join(tmpdir(), 'vct-cardrec-'));
    const veth0 = hostVethName('eni', 'default', 'p1', 0);
    const veth1 = hostVethName('eni', 'default', 'p1', 1);
    [veth0, veth1, STRAY].forEach((l, i) => {
      ns.ip(['link', 'add', l, 'type', 'veth', 'peer', 'name', `pp${i}`]);
      ns.ip(['link', 'set', l, 'up']);
    });
    ns.ip(['route', 'add', '10.0.1.5/32', 'dev', veth0, 'scope', 'link']);
    ns.ip(['route', 'add', '10.1.1.5/32', 'dev', veth1, 'scope', 'link']);
    ns.ip(['route', 'add', '10.1.1.9/32', 'dev', STRAY, 'scope', 'link']);
    routes = withNetns(ns.path, () => recoverFromHostRoutes('eni', 7n));
  });
  afterAll(() => {
    ns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const deps = (errors: ErrorLog): RestoreDeps => ({
    cfg: loadIpamdConfig({ AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json') }),
    logger: silentLogger,
    errors,
    hostRoutes: async () => routes,
  });
  const path0 = () => join(dir, 'ipam.json');
  const path1 = () => cardCheckpointPath(path0(), 1);

  async function writeCard0(): Promise<void> {
    const ds = card0();
    ds.assign(POD, META);
    const cp = new Checkpoint(path0(), () => ds.allocations(), silentLogger);
    await cp.persist();
    await cp.close();
  }

  it('corrupt card-1 file: moved aside, the pod routes to card 1 addresses restored, the multi-NIC pod with its key', async () => {
    await writeCard0();
    writeFileSync(path1(), '{"version": 1, "allocations": [tru');
    const errors = new ErrorLog();
    const ds0 = card0();
    const ds1 = card1();
    const r0 = await restoreCard0(deps(errors), ds0, [ds1]);
    expect(ds0.lookup(POD)?.address).toBe('10.0.1.5');
    const cp1 = await restoreCard(
      deps(errors),
      { card: 1, ds: ds1, path: path1(), interfaceIndex: 1 },
      r0.allocations,
    );
    expect(ds1.lookup(POD)).toMatchObject({ address: '10.1.1.5', routeTableId: 10100 });
    expect(
      ds1.lookup({ networkName: RECOVERED_NETWORK, containerID: 'recovered-10.1.1.9', ifName: STRAY })
        ?.address,
    ).toBe('10.1.1.9');
    expect(ds1.stats().assignedIPs).toBe(2);
    expect(ds1.quarantinedAllocations()).toEqual([]);
    expect((await durableAddresses(path1())).sort()).toEqual(['10.1.1.5', '10.1.1.9']);
    expect(errors.list().map((e) => e.remedy)).toEqual([
      expect.stringMatching(/^network card 1: moved to .*; 2 pod addresses recovered from host routes$/),
    ]);
    // the pod's DEL finds its card-1 address under its own key
    expect(ds1.unassign(POD)?.address).toBe('10.1.1.5');
    await r0.checkpoint.close();
    await cp1.close();
  });

  it('missing card-1 file while the card has ENIs: the same recovery, reported; a card with no ENI starts empty', async () => {
    await writeCard0();
    rmSync(path1(), { force: true });
    const errors = new ErrorLog();
    const ds0 = card0();
    const r0 = await restoreCard0(deps(errors), ds0, []);
    const ds1 = card1();
    const cp1 = await restoreCard(
      deps(errors),
      { card: 1, ds: ds1, path: path1(), interfaceIndex: 1 },
      r0.allocations,
    );
    expect(ds1.lookup(POD)?.address).toBe('10.1.1.5');
    expect(ds1.stats().assignedIPs).toBe(2);
    expect(errors.list().map((e) => e.cause)).toEqual([
      expect.stringMatching(/network card 1: .* is missing while 2 pod routes use/),
    ]);
    await cp1.close();
    rmSync(path1(), { force: true });
    const empty = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 0 });
    const cpE = await restoreCard(
      deps(errors),
      { card: 1, ds: empty, path: path1(), interfaceIndex: 1 },
      r0.allocations,
    );
    expect(empty.allocations()).toEqual([]);
    await cpE.close();
    await r0.checkpoint.close();
  });

  it("corrupt card-0 file: card 0 takes back only its own addresses, card 1's are not quarantined on card 0", async () => {
    writeFileSync(path0(), 'not json');
    const errors = new ErrorLog();
    const ds0 = card0();
    const r0 = await restoreCard0(deps(errors), ds0, [card1()]);
    expect(r0.allocations.map((a) => [a.address, a.key.networkName])).toEqual([
      ['10.0.1.5', RECOVERED_NETWORK],
    ]);
    expect(ds0.stats().assignedIPs).toBe(1);
    expect(ds0.quarantinedAllocations()).toEqual([]);
    await r0.checkpoint.close();
  });
});
