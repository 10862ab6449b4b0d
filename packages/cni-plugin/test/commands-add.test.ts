// ADD orchestration with an in-memory ipamd and a recording executor (the kernel side is covered by the kernel
// tests; here: which calls happen, in which order, and which errors come out). Fixture: commands-fixture.ts.
import { describe, expect, it } from 'vitest';
import { AddNetworkReply, DelNetworkReply, GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import { cmdAdd } from '../src/commands/add.js';
import { cmdDel } from '../src/commands/del.js';
import { byJson, confOf, envOf, primary, world } from './commands-fixture.js';

describe('ADD orchestration', () => {
  it('asks the policy agent at the conflist npaEndpoint (default: upstream socket) when ipamd names a mode', async () => {
    const withMode = () => {
      const r = primary();
      r.NetworkPolicyMode = 'strict';
      return r;
    };
    const dflt = world({ add: withMode });
    await cmdAdd(envOf('ADD'), confOf(), dflt.deps);
    expect(dflt.policy).toEqual(['unix:///var/run/aws-node/npa.sock enforce default/nginx strict 1']);
    const node = world({
      add: withMode,
      del: () =>
        DelNetworkReply.fromPartial({
          Success: true,
          NetworkPolicyMode: 'strict',
          IPAllocationMetadata: [{ IPv4Addr: '10.0.1.23', DeviceNumber: 0, RouteTableId: 254 }],
        }),
    });
    const conf = confOf({ npaEndpoint: 'unix:///run/node-a/npa.sock' });
    await cmdAdd(envOf('ADD'), conf, node.deps);
    await cmdDel(envOf('DEL'), conf, node.deps);
    expect(node.policy).toEqual([
      'unix:///run/node-a/npa.sock enforce default/nginx strict 1',
      'unix:///run/node-a/npa.sock delete default/nginx',
    ]);
    // The pod is routed only after the agent enforced; the same ops as without policy, the route moved last.
    expect(node.routedAtEnforce).toEqual([false]);
    const plain = world({ add: primary });
    await cmdAdd(envOf('ADD'), conf, plain.deps);
    const addOps = node.applied.slice(0, plain.applied.length);
    expect(addOps.at(-1)).toMatchObject({ op: 'routeReplace', ns: 'host', dst: '10.0.1.23/32' });
    expect([...addOps].sort(byJson)).toEqual([...plain.applied].sort(byJson));
    // No mode from ipamd: the agent is not called at all.
    const none = world({ add: primary });
    await cmdAdd(envOf('ADD'), conf, none.deps);
    expect(none.policy).toEqual([]);
  });
  it('sends every identity field and prints the result', async () => {
    const w = world({ add: primary });
    const out = await cmdAdd(envOf('ADD'), confOf(), w.deps);
    expect(JSON.parse(out)).toMatchObject({ cniVersion: '1.0.0', ips: [{ address: '10.0.1.23/32' }] });
    expect(w.adds[0]).toEqual({
      K8S_POD_NAME: 'nginx',
      K8S_POD_NAMESPACE: 'default',
      K8S_POD_INFRA_CONTAINER_ID: '',
      Netns: '/var/run/netns/p',
      IfName: 'eth0',
      NetworkName: 'aws-cni',
      ContainerID: 'cid',
      ClientVersion: 'test',
      RequiresMultiNICAttachment: false,
    });
    expect(w.dels).toEqual([]);
  });
  it('a failed step rolls back (veth deleted, host ops undone) and releases the address', async () => {
    const w = world({ add: primary, failAt: 13 }); // the prio-512 rule, last op
    await expect(cmdAdd(envOf('ADD'), confOf(), w.deps)).rejects.toMatchObject({
      code: 999,
      message: 'add command: failed to setup network: boom',
    });
    expect(w.applied.slice(-3)).toEqual([
      { op: 'ruleDelAll', ns: 'host', family: 4, priority: 512, table: 254, to: '10.0.1.23/32' },
      { op: 'routeDel', ns: 'host', dst: '10.0.1.23/32', table: 254, dev: 'enic440f455693' },
      { op: 'linkDel', ns: 'host', name: 'enic440f455693' },
    ]);
    expect(w.dels).toEqual([expect.objectContaining({ Reason: 'SetupNSFailed', ContainerID: 'cid' })]);
  });
  it('ipamd unreachable is code 11; Success=false is 999 without a release; the pre-wired veth is undone', async () => {
    const down = world({ add: () => new RpcError(GrpcStatus.UNAVAILABLE, 'connect ENOENT', 'AddNetwork') });
    await expect(cmdAdd(envOf('ADD'), confOf(), down.deps)).rejects.toMatchObject({ code: 11 });
    const no = world({ add: () => AddNetworkReply.fromPartial({ Success: false }) });
    await expect(cmdAdd(envOf('ADD'), confOf(), no.deps)).rejects.toMatchObject({
      code: 999,
      message: 'add cmd: failed to assign an IP address to container',
    });
    for (const w of [down, no]) {
      // the veth pair made while ipamd answered (7 ops), then deleted again; nothing else
      expect(w.applied.map((o) => o.op)).toEqual([
        ...['linkDel', 'vethAdd', 'sysctl', 'sysctl', 'sysctl', 'linkUp', 'linkUp'],
        'linkDel',
      ]);
      expect(w.applied.at(-1)).toEqual({ op: 'linkDel', ns: 'host', name: 'enic440f455693' });
    }
    expect(no.dels).toEqual([]);
  });
  it('wires the veth pair while ipamd answers, then only the rest of the plan', async () => {
    let atReply = -1;
    const w = world({
      add: () => {
        atReply = w.applied.length;
        return primary();
      },
    });
    await cmdAdd(envOf('ADD'), confOf(), w.deps);
    expect(atReply).toBe(0); // the request is sent before any kernel work starts
    expect(w.applied.map((o) => o.op)).toEqual([
      ...['linkDel', 'vethAdd', 'sysctl', 'sysctl', 'sysctl', 'linkUp', 'linkUp'],
      ...['routeReplace', 'routeAdd', 'addrAdd', 'neighAdd', 'routeReplace', 'ruleAdd'],
    ]); // each op once: the pre-wired ones are not repeated
  });
  it('a strict-mode branch pod replaces the pre-wired veth with its own (other prefix)', async () => {
    const w = world({
      add: () =>
        AddNetworkReply.fromPartial({
          Success: true,
          PodVlanId: 7,
          PodENIMAC: '02:00:00:00:00:07',
          PodENISubnetGW: '10.0.32.1',
          ParentIfIndex: 3,
          IPAllocationMetadata: [{ IPv4Addr: '10.0.32.58' }],
        }),
    });
    await cmdAdd(envOf('ADD'), confOf({ podSGEnforcingMode: 'strict' }), w.deps);
    const adds = w.applied.filter((o) => o.op === 'vethAdd').map((o) => (o.op === 'vethAdd' ? o.hostIf : ''));
    expect(adds).toEqual(['enic440f455693', 'vlanc440f455693']);
    expect(w.applied[7]).toEqual({ op: 'linkDel', ns: 'host', name: 'enic440f455693' });
  });
  it('a failure while pre-wiring still waits for the reply and releases the address', async () => {
    const w = world({ add: primary, failAt: 2 }); // vethAdd
    await expect(cmdAdd(envOf('ADD'), confOf(), w.deps)).rejects.toMatchObject({
      message: 'add command: failed to setup network: boom',
    });
    expect(w.adds).toHaveLength(1);
    expect(w.dels).toEqual([expect.objectContaining({ Reason: 'SetupNSFailed' })]);
    expect(w.applied.at(-1)).toEqual({ op: 'linkDel', ns: 'host', name: 'enic440f455693' });
  });
  it('multi-NIC annotation is forwarded', async () => {
    const w = world({ add: primary });
    const conf = confOf({
      runtimeConfig: {
        'io.kubernetes.cri.pod-annotations': { 'k8s.amazonaws.com/nicConfig': 'multi-nic-attachment' },
      },
    });
    await cmdAdd(envOf('ADD'), conf, w.deps);
    expect(w.adds[0]?.RequiresMultiNICAttachment).toBe(true);
  });
});
