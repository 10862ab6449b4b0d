// The node the branch-pod guest tests share (branch-pod.guest.ts, branch-traffic.guest.ts): a throwaway "node"
// netns with a trunk ENI and a primary ENI whose far ends are in a "fabric" netns (the VPC side: one tagged
// sub-interface per branch ENI), a canned ipamd, pods made on demand, aws-cni run as containerd runs it, and state
// read with `ip -j`. Registers node:test hooks that build it before and remove it after the file's tests.
import { after, before } from 'node:test';
import { execFileSync } from 'node:child_process';
import { Netlink } from '@vpc-cni/shared/netlink';
import { applyHostRules } from '../../ipamd/src/hostnet/apply.js';
import type { HostNetSettings } from '../../ipamd/src/hostnet/desired.js';
import { FakeIpamd, addNetns, cniEnv, delNetns, ipj, netConf, runPlugin, uniq } from './harness.js';

export const hostNs = uniq('vlh'); // the node
export const fabricNs = uniq('vlf'); // the VPC side of the trunk ENI and of the node's primary ENI
export const ipamd = new FakeIpamd();
const pods: string[] = [];
export let trunkIndex = 0;
export const GW = '10.0.32.1';
export const NODE_IP = '192.168.0.10';

export function ip(ns: string, args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

export function newPod(): { name: string; path: string } {
  const name = uniq('vlp');
  pods.push(name);
  return { name, path: addNetns(name) };
}

export const mac = (vlan: number) => `0a:00:00:00:00:${vlan.toString(16).padStart(2, '0')}`;

export function branchReply(addr: string, vlan: number, parent = trunkIndex) {
  return {
    IPAllocationMetadata: [{ IPv4Addr: addr, DeviceNumber: -1, RouteTableId: 0 }],
    PodVlanId: vlan,
    PodENIMAC: mac(vlan),
    PodENISubnetGW: GW,
    ParentIfIndex: parent,
  };
}

export type Mode = 'strict' | 'standard';
export const conf = (mode: Mode, extra: Record<string, unknown> = {}) =>
  JSON.stringify(netConf(ipamd, { podSGEnforcingMode: mode, ...extra }));
export const cni = (
  cmd: string,
  cid: string,
  netns: string,
  pod: string,
  mode: Mode,
  extra = {},
  envExtra = {},
) => runPlugin(hostNs, { ...cniEnv(cmd, cid, netns, pod), ...envExtra }, conf(mode, extra));

export interface Link {
  ifname: string;
  link?: string;
  address: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: { protocol?: string; id?: number } };
}
export interface Rule {
  priority: number;
  src?: string;
  dst?: string;
  iif?: string;
  table: string;
}
export interface Route {
  dst: string;
  gateway?: string;
  dev: string;
  table?: string;
  scope?: string;
}

/** The node's links, rules and routes (all tables) in one `ip -batch`. */
export function hostState(): { links: Link[]; rules: Rule[]; routes: Route[] } {
  const out = execFileSync('ip', ['-n', hostNs, '-d', '-j', '-batch', '-'], {
    input: 'link show\nrule show\nroute show table all\n',
    encoding: 'utf8',
  });
  const [links, rules, routes] = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown[]);
  return { links: links as Link[], rules: rules as Rule[], routes: routes as Route[] };
}

export const tableRoutes = (s: ReturnType<typeof hostState>, table: string) =>
  s.routes
    .filter((r) => (r.table ?? 'main') === table)
    .map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} ${r.dev}`)
    .sort();

export const podState = (pod: string) => {
  const addrs = ipj<{ ifname: string; addr_info: { local: string; prefixlen: number }[] }>(pod, [
    'addr',
    'show',
  ]);
  const routes = ipj<Route>(pod, ['route', 'show']);
  return {
    links: addrs.map((a) => a.ifname),
    eth0: addrs
      .find((a) => a.ifname === 'eth0')
      ?.addr_info.filter((a) => !a.local.startsWith('fe80:'))
      .map((a) => `${a.local}/${a.prefixlen}`),
    routes: routes.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} ${r.dev}`).sort(),
  };
};

/** Packets the fabric received and sent on one VLAN of the trunk (the branch ENI's wire). */
export function vlanCounters(vlan: number): { rx: number; tx: number } {
  const l = ipj<{ stats64: { rx: { packets: number }; tx: { packets: number } } }>(fabricNs, [
    '-s',
    'link',
    'show',
    `fab0.${vlan}`,
  ])[0];
  return { rx: l?.stats64.rx.packets ?? -1, tx: l?.stats64.tx.packets ?? -1 };
}

export function ping(pod: string, dst: string, count = 2): boolean {
  try {
    execFileSync(
      'ip',
      ['netns', 'exec', pod, 'ping', '-n', '-q', '-i', '0.2', '-c', String(count), '-W', '2', dst],
      {
        stdio: 'ignore',
      },
    );
    return true;
  } catch {
    return false;
  }
}

/** The VPC side of branch ENI `vlan`: a tagged sub-interface answering for the subnet router. */
export function fabricBranch(vlan: number, podIp: string): void {
  const sub = `fab0.${vlan}`;
  ip(fabricNs, ['link', 'add', 'link', 'fab0', 'name', sub, 'type', 'vlan', 'id', String(vlan)]);
  ip(fabricNs, ['addr', 'add', `${GW}/32`, 'dev', sub]);
  ip(fabricNs, ['link', 'set', sub, 'up']);
  ip(fabricNs, ['route', 'add', `${podIp}/32`, 'dev', sub]);
  ip(fabricNs, ['neigh', 'replace', podIp, 'lladdr', mac(vlan), 'dev', sub, 'nud', 'permanent']);
}

/** ipamd's node-wide rules (its own code) with security groups for pods in the given mode. */
export function ipamdHostRules(mode: Mode): void {
  const s: HostNetSettings = {
    ipv6: false,
    vpcCidrs: ['10.0.0.0/16', '192.168.0.0/24'],
    excludeSnatCidrs: [],
    externalSnat: true,
    randomizeSnat: 'prng',
    nodePortSupport: false,
    connmark: 0x80,
    vethPrefix: 'eni',
    primaryIf: 'eth0',
    primaryIp: NODE_IP,
    v6Egress: false,
    v4Egress: true,
    externalServiceCidrs: [],
    podEniStrict: mode === 'strict',
  };
  const nl = Netlink.open(`/var/run/netns/${hostNs}`);
  try {
    applyHostRules(nl, s);
  } finally {
    nl.close();
  }
}

before(async () => {
  addNetns(hostNs);
  addNetns(fabricNs);
  // trunk ENI: node trunk0 <-> fabric fab0 (tagged); primary ENI: node eth0 <-> fabric vpc0 (untagged)
  ip(hostNs, ['link', 'add', 'trunk0', 'type', 'veth', 'peer', 'name', 'fab0', 'netns', fabricNs]);
  ip(hostNs, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'vpc0', 'netns', fabricNs]);
  for (const [ns, l] of [
    [hostNs, 'trunk0'],
    [hostNs, 'eth0'],
    [fabricNs, 'fab0'],
    [fabricNs, 'vpc0'],
  ] as const)
    ip(ns, ['link', 'set', l, 'up']);
  ip(hostNs, ['addr', 'add', `${NODE_IP}/24`, 'dev', 'eth0']);
  ip(hostNs, ['route', 'add', 'default', 'via', '192.168.0.1', 'dev', 'eth0']);
  ip(fabricNs, ['addr', 'add', '192.168.0.1/24', 'dev', 'vpc0']);
  // IPv4 only: with IPv6 off, a new link sends no router/neighbour solicitations or MLD reports, so the
  // traffic tests' per-VLAN frame counters count only what the test itself sends.
  for (const ns of [hostNs, fabricNs])
    execFileSync('ip', [
      'netns',
      'exec',
      ns,
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ]);
  trunkIndex = ipj<{ ifindex: number }>(hostNs, ['link', 'show', 'trunk0'])[0]?.ifindex ?? 0;
  await ipamd.start();
});

after(async () => {
  for (const p of pods) delNetns(p);
  delNetns(hostNs);
  delNetns(fabricNs);
  await ipamd.stop();
});
