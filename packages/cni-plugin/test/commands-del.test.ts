// DEL orchestration with an in-memory ipamd and a recording executor: what is released and removed, with ipamd
// up or down, from prevResult or ipamd's reply. Fixture: commands-fixture.ts.
import { describe, expect, it } from 'vitest';
import { DelNetworkReply, GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import { attachmentsFromPrev, cmdDel } from '../src/commands/del.js';
import { parseK8sArgs } from '../src/cni/env.js';
import { parseResult } from '../src/cni/result.js';
import { confOf, envOf, world } from './commands-fixture.js';

describe('DEL orchestration', () => {
  const prevPrimary = {
    cniVersion: '1.0.0',
    interfaces: [
      { name: 'enic440f455693' },
      { name: 'eth0', mac: '3', sandbox: '/var/run/netns/p' },
      { name: 'dummyc440f455693', mac: '0', sandbox: '2' },
    ],
    ips: [{ interface: 1, address: '10.0.1.23/32' }],
  };
  it('unknown pod on ipamd is success with no kernel change', async () => {
    const w = world({ del: () => new RpcError(GrpcStatus.UNKNOWN, 'datastore: unknown pod', 'DelNetwork') });
    await cmdDel(envOf('DEL', ''), confOf(), w.deps);
    expect(w.applied).toEqual([]);
    expect(w.dels[0]).toMatchObject({ Reason: 'PodDeleted', K8S_POD_UID: 'u1' });
  });
  it('ipamd down: host cleanup from prevResult (table from mac), then code 11', async () => {
    const w = world({ del: () => new RpcError(GrpcStatus.UNAVAILABLE, 'connect ENOENT', 'DelNetwork') });
    await expect(cmdDel(envOf('DEL'), confOf({ prevResult: prevPrimary }), w.deps)).rejects.toMatchObject({
      code: 11,
    });
    expect(w.applied).toContainEqual({
      op: 'ruleDelAll',
      ns: 'host',
      family: 4,
      priority: 1536,
      from: '10.0.1.23/32',
      table: 3,
    });
  });
  describe('ipamd down: only what is provably this container is removed (issue 22, defect 1)', () => {
    const down = () => new RpcError(GrpcStatus.UNAVAILABLE, 'connect ENOENT', 'DelNetwork');
    it('a host route to another veth (the address was given to another pod) is left with its rules', async () => {
      const w = world({ del: down, routes: { '10.0.1.23': 'eni0123456789a' } });
      await expect(cmdDel(envOf('DEL'), confOf({ prevResult: prevPrimary }), w.deps)).rejects.toMatchObject({
        code: 11,
      });
      expect(w.applied).toEqual([]);
    });
    it('a route to a veth of the same name whose peer is not in this netns (re-created sandbox) is left', async () => {
      const w = world({ del: down, routes: { '10.0.1.23': 'enic440f455693' } });
      await expect(cmdDel(envOf('DEL'), confOf({ prevResult: prevPrimary }), w.deps)).rejects.toMatchObject({
        code: 11,
      });
      expect(w.applied).toEqual([]);
    });
    it("the container's own route is removed by device, with its rules", async () => {
      const w = world({
        del: down,
        routes: { '10.0.1.23': 'enic440f455693' },
        ownedPairs: ['enic440f455693/eth0'],
      });
      await expect(cmdDel(envOf('DEL'), confOf({ prevResult: prevPrimary }), w.deps)).rejects.toMatchObject({
        code: 11,
      });
      expect(w.applied.map((o) => o.op)).toEqual(['ruleDelAll', 'ruleDelAll', 'routeDel']);
      expect(w.applied[2]).toEqual({
        op: 'routeDel',
        ns: 'host',
        dst: '10.0.1.23/32',
        table: 254,
        dev: 'enic440f455693',
      });
    });
  });
  it('ipamd down: a prevResult repeating the pod 20,000 times is cleaned once (defect 2, end to end)', async () => {
    const [h, c, d] = prevPrimary.interfaces;
    const interfaces = [];
    for (let i = 0; i < 20_000; i++) interfaces.push(h, c, d);
    const ips = Array.from({ length: 20_000 }, (_, i) => ({
      interface: 3 * i + 1,
      address: '10.0.1.23/32',
    }));
    const w = world({ del: () => new RpcError(GrpcStatus.UNAVAILABLE, 'connect ENOENT', 'DelNetwork') });
    const prev = { cniVersion: '1.0.0', interfaces, ips };
    await expect(cmdDel(envOf('DEL'), confOf({ prevResult: prev }), w.deps)).rejects.toMatchObject({
      code: 11,
    });
    // The quadratic version needed ~10 s here; the bounded number of reads is the regression check (next test).
    expect(w.applied.filter((o) => o.op === 'routeDel')).toHaveLength(1);
  }, 60_000); // generous: parsing megabytes of JSON on a loaded 2-core machine
  it('reading the attachments of a prevResult touches each entry a bounded number of times (defect 2)', () => {
    const [h, c, d] = prevPrimary.interfaces;
    const raw = [];
    for (let i = 0; i < 3_000; i++) raw.push(h, c, d);
    let reads = 0;
    const counted = <T extends object>(a: T[]): T[] =>
      new Proxy(a, {
        get(target, key, recv) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
          return Reflect.get(target, key, recv) as unknown;
        },
      });
    const prev = parseResult(
      {
        ...prevPrimary,
        interfaces: raw,
        ips: raw.map((_, i) => ({ interface: i, address: '10.0.1.23/32' })),
      },
      '1.0.0',
    );
    const env = envOf('DEL');
    const atts = attachmentsFromPrev(
      { interfaces: counted(prev.interfaces), ips: counted(prev.ips) },
      env,
      parseK8sArgs(env.args),
    );
    expect(atts).toEqual([{ ip: '10.0.1.23', table: 3, hostIf: 'enic440f455693', contIf: 'eth0' }]);
    expect(reads).toBeLessThanOrEqual(3 * (raw.length + raw.length));
  });
  it('branch pod with prevResult tears down without asking ipamd; empty netns does nothing', async () => {
    const prev = {
      ...prevPrimary,
      interfaces: [
        prevPrimary.interfaces[0],
        prevPrimary.interfaces[1],
        { name: 'dummyc440f455693', mac: '7' },
      ],
    };
    const w = world({});
    await cmdDel(envOf('DEL'), confOf({ prevResult: prev }), w.deps);
    expect(w.dels).toEqual([]);
    expect(w.applied[0]).toEqual({ op: 'linkDel', ns: 'host', name: 'vlan.eth.7' });
    const w2 = world({});
    await cmdDel(envOf('DEL', ''), confOf({ prevResult: prev }), w2.deps);
    expect([...w2.dels, ...w2.applied]).toEqual([]);
  });
  it('IPv6 branch pod without prevResult is cleaned from the ipamd reply', async () => {
    const w = world({
      del: () =>
        DelNetworkReply.fromPartial({
          Success: true,
          PodVlanId: 9,
          IPAllocationMetadata: [{ IPv6Addr: '2001:db8::9' }],
        }),
    });
    await cmdDel(envOf('DEL'), confOf(), w.deps);
    expect(w.applied).toContainEqual({ op: 'ruleDelAll', ns: 'host', family: 6, priority: 10, table: 109 });
  });
  it('Success=false is an error', async () => {
    const w = world({ del: () => DelNetworkReply.fromPartial({ Success: false }) });
    await expect(cmdDel(envOf('DEL'), confOf(), w.deps)).rejects.toMatchObject({
      message: 'del cmd: failed to process delete request',
    });
  });
});
