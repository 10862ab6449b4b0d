// Command orchestration with in-memory ipamd and a recording executor (the kernel side is covered by the
// kernel tests; here: which calls happen, in which order, and which errors come out).
import { describe, expect, it } from 'vitest';
import { AddNetworkReply, DelNetworkReply, GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import type { AddNetworkRequest, DelNetworkRequest } from '@vpc-cni/shared/rpc';
import { silentLogger } from '@vpc-cni/shared/logging';
import { cmdAdd } from '../src/commands/add.js';
import { attachmentsFromPrev, cmdDel } from '../src/commands/del.js';
import type { Deps } from '../src/commands/deps.js';
import { parseEnv, parseK8sArgs } from '../src/cni/env.js';
import { parseResult } from '../src/cni/result.js';
import { parseNetConf } from '../src/cni/netconf.js';
import type { Op } from '../src/plan/ops.js';
import { run } from '../src/run.js';

interface World {
  deps: Deps;
  applied: Op[];
  adds: AddNetworkRequest[];
  dels: DelNetworkRequest[];
  /** Network policy agent calls: the endpoint dialled, then the call. */
  policy: string[];
  /** At each enforce call: was a host route into the pod applied already? */
  routedAtEnforce: boolean[];
}

function world(opts: {
  add?: () => AddNetworkReply | Error;
  del?: () => DelNetworkReply | Error;
  failAt?: number;
  /** Host routes the kernel view reports (ip → device) and the veth pairs it reports as the pod's own. */
  routes?: Record<string, string>;
  ownedPairs?: string[];
}): World {
  const w: World = {
    applied: [],
    adds: [],
    dels: [],
    policy: [],
    routedAtEnforce: [],
    deps: undefined as unknown as Deps,
  };
  let n = 0;
  w.deps = {
    version: 'test',
    logger: silentLogger,
    ipam: () => ({
      addNetwork: async (req) => {
        w.adds.push(req);
        const r = opts.add?.() ?? new Error('no reply');
        if (r instanceof Error) throw r;
        return r;
      },
      delNetwork: async (req) => {
        w.dels.push(req);
        const r = opts.del?.() ?? DelNetworkReply.fromPartial({ Success: true });
        if (r instanceof Error) throw r;
        return r;
      },
      health: async () => true,
      gc: async () => {
        throw new RpcError(GrpcStatus.UNIMPLEMENTED, 'unknown service', 'GarbageCollect');
      },
      close: () => {},
    }),
    policy: (endpoint) => ({
      enforce: async (name, ns, mode, count) => {
        w.policy.push(`${endpoint} enforce ${ns}/${name} ${mode} ${count}`);
        w.routedAtEnforce.push(w.applied.some((o) => o.op === 'routeReplace' && o.ns === 'host'));
        return true;
      },
      deletePod: async (name, ns) => {
        w.policy.push(`${endpoint} delete ${ns}/${name}`);
      },
      close: () => {},
    }),
    executor: async () => ({
      apply: async (op) => {
        n += 1;
        if (n === opts.failAt) throw new Error('boom');
        w.applied.push(op);
      },
      close: () => {},
    }),
    view: async () => ({
      close: () => {},
      podAddrs: () => undefined,
      podDefaultGw: () => undefined,
      hostLinkExists: () => false,
      hostRouteDev: (ip) => opts.routes?.[ip],
      vethPairOwned: (hostIf, contIf) => opts.ownedPairs?.includes(`${hostIf}/${contIf}`) ?? false,
      hostRules: () => [],
    }),
    randomMac: () => '02:00:00:00:00:01',
  };
  return w;
}

const envOf = (command: string, netns = '/var/run/netns/p') =>
  parseEnv({
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'cid',
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx;K8S_POD_UID=u1',
  })!;
const confOf = (extra: Record<string, unknown> = {}) =>
  parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', ...extra }));
const primary = () =>
  AddNetworkReply.fromPartial({
    Success: true,
    IPAllocationMetadata: [{ IPv4Addr: '10.0.1.23', DeviceNumber: 0, RouteTableId: 254 }],
  });

const byJson = (a: Op, b: Op) => JSON.stringify(a).localeCompare(JSON.stringify(b));

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

describe('dispatcher', () => {
  const deps = () => world({}).deps;
  it('prints the error JSON with exit 1 and no kernel change for bad input', async () => {
    const out = await run({ CNI_COMMAND: 'ADD' }, async () => '{}', deps);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 3, msg: 'missing containerID' });
  });
  it('GC and STATUS need 1.1.0; CHECK needs 0.4.0', async () => {
    const r = await run(
      { CNI_COMMAND: 'GC', CNI_PATH: '/x' },
      async () => '{"name":"n","cniVersion":"1.0.0"}',
      deps,
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 1, msg: 'config version does not allow GC' });
    const raw = {
      CNI_COMMAND: 'CHECK',
      CNI_CONTAINERID: 'cid',
      CNI_NETNS: '/var/run/netns/p',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/x',
    };
    const c = await run(raw, async () => '{"name":"n","cniVersion":"0.3.1"}', deps);
    expect(JSON.parse(c.stdout)).toMatchObject({ code: 1, msg: 'config version does not allow CHECK' });
    expect(c.exitCode).toBe(1);
  });
  it('VERSION ignores stdin and ends with a newline', async () => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, () => Promise.reject(new Error('must not read')), deps);
    expect(r).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/"supportedVersions".*\}\n$/) });
  });
});
