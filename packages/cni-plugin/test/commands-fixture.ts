// The shared fixture of the command orchestration tests (commands-*.test.ts): an in-memory ipamd and policy
// agent, a recording executor and a kernel view answering from the options, plus the CNI environment and
// network configuration of one pod.
import { AddNetworkReply, DelNetworkReply, GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import type { AddNetworkRequest, DelNetworkRequest } from '@vpc-cni/shared/rpc';
import { silentLogger } from '@vpc-cni/shared/logging';
import type { Deps } from '../src/commands/deps.js';
import { parseEnv } from '../src/cni/env.js';
import { parseNetConf } from '../src/cni/netconf.js';
import type { Op } from '../src/plan/ops.js';

export interface World {
  deps: Deps;
  applied: Op[];
  adds: AddNetworkRequest[];
  dels: DelNetworkRequest[];
  /** Network policy agent calls: the endpoint dialled, then the call. */
  policy: string[];
  /** At each enforce call: was a host route into the pod applied already? */
  routedAtEnforce: boolean[];
}

export function world(opts: {
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

export const envOf = (command: string, netns = '/var/run/netns/p') =>
  parseEnv({
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'cid',
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx;K8S_POD_UID=u1',
  })!;
export const confOf = (extra: Record<string, unknown> = {}) =>
  parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', ...extra }));
export const primary = () =>
  AddNetworkReply.fromPartial({
    Success: true,
    IPAllocationMetadata: [{ IPv4Addr: '10.0.1.23', DeviceNumber: 0, RouteTableId: 254 }],
  });

export const byJson = (a: Op, b: Op) => JSON.stringify(a).localeCompare(JSON.stringify(b));
