// Pin GC against the real kernel: an agent (reconciler + eBPF datapath, in a throwaway node netns with a private
// bpffs) attaches two pods; it stops; one pod is deleted meanwhile (its host veth goes); the next agent adopts
// the pins and, once the initial PolicyEndpoint list is in, removes the gone pod's pins and keeps the live one
// attached with the same programs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { Netlink } from '@vpc-cni/shared/netlink';
import { EbpfDatapath } from '../datapath/datapath.js';
import { createWorld, type World } from '../../test/world.js';
import { Reconciler } from './reconciler.js';
import { hostVethName } from './veth.js';

describe('pin GC after a restart (kernel)', { timeout: 120_000 }, () => {
  let w: World;
  let nl: Netlink;
  const dps: EbpfDatapath[] = [];
  const live = hostVethName('eni', 'x', 'live');
  const gone = hostVethName('eni', 'x', 'gone');

  beforeAll(async () => {
    w = await createWorld('gc');
    for (const [host, peer] of [
      [live, 'gcpeer0'],
      [gone, 'gcpeer1'],
    ] as const) {
      w.ip(w.node, ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      w.ip(w.node, ['link', 'set', host, 'up']);
    }
    nl = Netlink.open(`/var/run/netns/${w.node}`);
  });
  afterAll(() => {
    for (const dp of dps) dp.close();
    nl?.close();
    w?.cleanup();
  });

  const agent = () => {
    const dp = new EbpfDatapath({ family: 'ipv4', pinRoot: w.pinRoot, netns: `/var/run/netns/${w.node}` });
    dps.push(dp);
    const rec = new Reconciler({
      datapath: dp,
      nodeIp: '10.77.1.1',
      mode: 'strict',
      logger: silentLogger,
      vethPrefixes: ['eni', 'vlan'],
      vethExists: (n) => nl.link.find(n) !== undefined,
    });
    return { dp, rec };
  };
  const pins = (key: string) => [
    join(w.pinRoot, 'programs', `${key}_handle_ingress`),
    join(w.pinRoot, 'programs', `${key}_handle_egress`),
    join(w.pinRoot, 'maps', `${key}_ingress_map`),
    join(w.pinRoot, 'maps', `${key}_egress_pod_state_map`),
  ];

  it('removes the pins of a pod deleted while the agent was down, once the PEs are listed', () => {
    const first = agent();
    first.rec.markSynced();
    first.rec.enforce('live', 'x', 'strict', 1);
    first.rec.enforce('gone', 'x', 'strict', 1);
    const liveIds = first.dp.listKeys().find((k) => k.key === 'live@x')!.attached[0]!;
    first.dp.close(); // the agent stops; pins and filters stay
    w.ip(w.node, ['link', 'del', gone]); // the pod is deleted meanwhile: its CNI DEL removes the veth

    const second = agent();
    const keys = second.dp.listKeys();
    expect(keys.map((k) => k.key).sort()).toEqual(['gone@x', 'live@x']);
    second.rec.adopt(
      keys.map((k) => ({
        name: k.key.slice(0, k.key.lastIndexOf('@')),
        namespace: k.key.slice(k.key.lastIndexOf('@') + 1),
        veths: k.attached.map((a) => a.ifname),
      })),
    );
    expect(pins('gone@x').every((p) => existsSync(p))).toBe(true); // nothing removed before the list
    second.rec.markSynced();
    expect(pins('gone@x').some((p) => existsSync(p))).toBe(false);
    expect(pins('live@x').every((p) => existsSync(p))).toBe(true);
    const after = second.dp.listKeys();
    expect(after.map((k) => k.key)).toEqual(['live@x']);
    expect(after[0]!.attached).toEqual([liveIds]); // same veth, same programs
    expect(second.rec.localPods().map((p) => p.key)).toEqual(['live@x']);
  });
});
