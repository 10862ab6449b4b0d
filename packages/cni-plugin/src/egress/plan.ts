// egress-cni's pure plans: the ordered kernel and iptables operations that give a pod its egress interface
// (v4if0 / v6if0), their rollback, the DEL teardown and the interfaces appended to the result. Computed from the
// config, the reserved address and caller-chosen random names/MACs, so they are data and unit-testable.
// Behaviour (upstream's, with the deviations and their reasons) is described in the package README, "egress-cni".
import { createHash } from 'node:crypto';
import { canonicalIp, cidrContains, formatCidr, parseCidr } from '@vpc-cni/shared/ipmath';
import type { ResultInterface } from '../cni/result.js';
import type { Op } from '../plan/ops.js';
import { MAIN_TABLE } from '../plan/ops.js';
import { rollbackOps } from '../plan/teardown.js';
import type { EgressFamily, SnatMode } from './conf.js';

export const DAD_TIMEOUT_MS = 10_000;
export const V4_EGRESS_IF = 'v4if0';
export const V6_EGRESS_IF = 'v6if0';

/** The per-pod SNAT chain (nat table) and the POSTROUTING jump into it, as iptables-save prints them. */
export interface SnatAddOp {
  readonly op: 'snatAdd';
  readonly family: EgressFamily;
  readonly chain: string;
  /** Rules of the chain without the leading `-A <chain> `. */
  readonly rules: readonly string[];
  /** The POSTROUTING rule without `-A POSTROUTING `. */
  readonly jump: string;
}
/** Removes every POSTROUTING jump into the chain, then the chain; nothing there is fine. */
export interface SnatDelOp {
  readonly op: 'snatDel';
  readonly family: EgressFamily;
  readonly chain: string;
}
export type SnatOp = SnatAddOp | SnatDelOp;
export type EgressOp = Op | SnatOp;

export const egressIfName = (f: EgressFamily): string => (f === 4 ? V4_EGRESS_IF : V6_EGRESS_IF);

/** `CNI-E4-`/`CNI-E6-` + the first 21 hex digits of sha512(network name + container id) (28 characters). */
export function chainName(family: EgressFamily, network: string, containerId: string): string {
  const hash = createHash('sha512')
    .update(network + containerId)
    .digest('hex');
  return `CNI-E${family}-${hash}`.slice(0, 28);
}

/** The rule comment as upstream writes it (Go %q of names that need no escaping), in iptables-save quoting. */
export function ruleComment(network: string, containerId: string): string {
  return `"name: \\"${network}\\" id: \\"${containerId}\\""`;
}

/** EUI-64 link-local address of a MAC: what the kernel gives the host veth under the default addr_gen_mode. */
export function linkLocalOf(mac: string): string {
  const b = mac.split(':').map((h) => Number.parseInt(h, 16));
  if (b.length !== 6 || b.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
    throw new Error(`not a MAC address: "${mac}"`);
  const [b0, b1, b2, b3, b4, b5] = b as [number, number, number, number, number, number];
  const w = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  return `fe80::${w(b0 ^ 0x02, b1)}:${w(b2, 0xff)}:${w(0xfe, b3)}:${w(b4, b5)}`;
}

/** Go's IsGlobalUnicast for IPv6 (ULAs included): not unspecified, loopback, link-local or multicast. */
export function isGlobalUnicast6(ip: string): boolean {
  const lower = canonicalIp(ip).toLowerCase();
  if (lower === '::' || lower === '::1') return false;
  const first = Number.parseInt(lower.split(':')[0] || '0', 16);
  return (first & 0xffc0) !== 0xfe80 && (first & 0xff00) !== 0xff00;
}

function snatFlag(mode: SnatMode): string {
  switch (mode) {
    case 'none':
      return '';
    case 'hashrandom':
      return ' --random';
    case 'random-fully':
      return ' --random-fully';
  }
}

export interface EgressAddInput {
  readonly family: EgressFamily;
  readonly network: string;
  readonly containerId: string;
  /** CNI_IFNAME (the pod's main interface, e.g. eth0). */
  readonly ifName: string;
  readonly netns: string;
  /** The reserved egress address and its range's prefix length and gateway. */
  readonly ip: string;
  readonly prefixLen: number;
  readonly gateway: string;
  readonly routes: readonly { dst: string }[];
  readonly mtu: number;
  /** '' = no SNAT (IPv4 egress without a node address, as upstream). */
  readonly nodeIP: string;
  readonly snat: SnatMode;
  /** Random, chosen by the caller: host veth `veth<8 hex>` and the two MACs. */
  readonly hostIf: string;
  readonly hostMac: string;
  readonly contMac: string;
}

export interface EgressAddPlan {
  readonly ops: EgressOp[];
  readonly interfaces: ResultInterface[];
}

export function snatOp(i: {
  family: EgressFamily;
  network: string;
  containerId: string;
  ip: string;
  nodeIP: string;
  snat: SnatMode;
}): SnatAddOp {
  const chain = chainName(i.family, i.network, i.containerId);
  const c = `-m comment --comment ${ruleComment(i.network, i.containerId)}`;
  const multicast = i.family === 4 ? '224.0.0.0/4' : 'ff00::/8';
  return {
    op: 'snatAdd',
    family: i.family,
    chain,
    rules: [
      `-d ${multicast} ${c} -j ACCEPT`,
      `${c} -j SNAT --to-source ${canonicalIp(i.nodeIP)}${snatFlag(i.snat)}`,
    ],
    jump: `-s ${canonicalIp(i.ip)}/${i.family === 4 ? 32 : 128} ${c} -j ${chain}`,
  };
}

function v4Ops(i: EgressAddInput, contIf: string): Op[] {
  const net = formatCidr(parseCidr(`${i.ip}/${i.prefixLen}`));
  const gw = i.gateway;
  return [
    { op: 'sysctl', ns: 'host', key: 'net/ipv4/ip_forward', value: '1', optional: false },
    ...vethOps(i, contIf),
    { op: 'addrAdd', ns: 'pod', dev: contIf, cidr: `${i.ip}/${i.prefixLen}` },
    // Everything, the range's other addresses included, goes through the gateway (the host veth).
    { op: 'routeDel', ns: 'pod', dst: net, table: MAIN_TABLE, dev: contIf },
    {
      op: 'routeAdd',
      ns: 'pod',
      dst: `${gw}/32`,
      dev: contIf,
      scopeLink: true,
      table: MAIN_TABLE,
      src: i.ip,
    },
    {
      op: 'routeAdd',
      ns: 'pod',
      dst: net,
      gw,
      dev: contIf,
      scopeLink: false,
      table: MAIN_TABLE,
      src: i.ip,
    },
    ...routesVia(i, contIf, gw, net),
    { op: 'addrAdd', ns: 'host', dev: i.hostIf, cidr: `${gw}/32`, scopeLink: true },
    {
      op: 'routeReplace',
      ns: 'host',
      dst: `${i.ip}/32`,
      dev: i.hostIf,
      scopeLink: true,
      table: MAIN_TABLE,
    },
  ];
}

function v6Ops(i: EgressAddInput, contIf: string): Op[] {
  const gwLL = linkLocalOf(i.hostMac);
  return [
    // The pod's main interface carries no IPv6 at all: IPv6 leaves through the egress interface only.
    { op: 'sysctl', ns: 'pod', key: `net/ipv6/conf/${i.ifName}/disable_ipv6`, value: '1', optional: true },
    ...vethOps(i, contIf),
    { op: 'sysctl', ns: 'pod', key: 'net/ipv6/conf/lo/disable_ipv6', value: '0', optional: false },
    { op: 'sysctl', ns: 'pod', key: `net/ipv6/conf/${contIf}/disable_ipv6`, value: '0', optional: false },
    { op: 'addrAdd', ns: 'pod', dev: contIf, cidr: `${i.ip}/${i.prefixLen}` },
    // Both ends know each other's MAC: no neighbour discovery needed in either direction.
    { op: 'neighAdd', ns: 'pod', dev: contIf, ip: gwLL, lladdr: i.hostMac },
    ...routesVia(i, contIf, gwLL),
    { op: 'waitDad', ns: 'pod', dev: contIf, timeoutMs: DAD_TIMEOUT_MS },
    {
      op: 'routeReplace',
      ns: 'host',
      dst: `${i.ip}/128`,
      dev: i.hostIf,
      scopeLink: true,
      table: MAIN_TABLE,
    },
    { op: 'neighAdd', ns: 'host', dev: i.hostIf, ip: i.ip, lladdr: i.contMac },
  ];
}

function vethOps(i: EgressAddInput, contIf: string): Op[] {
  return [
    // A previous ADD of this container (a repeated ADD): deleting the pod end removes the pair.
    { op: 'linkDel', ns: 'pod', name: contIf },
    { op: 'vethAdd', contIf, hostIf: i.hostIf, hostMac: i.hostMac, mtu: i.mtu, contMac: i.contMac },
    { op: 'sysctl', ns: 'host', key: `net/ipv6/conf/${i.hostIf}/accept_ra`, value: '0', optional: true },
    { op: 'linkUp', ns: 'host', name: i.hostIf },
    { op: 'linkUp', ns: 'pod', name: contIf },
  ];
}

/** The IPAM routes (`default` by the conflist), via the gateway; `skip` = a destination already routed. */
function routesVia(i: EgressAddInput, contIf: string, gw: string, skip = ''): Op[] {
  return i.routes
    .filter((r) => normaliseDst(r.dst) !== skip)
    .map((r) => ({
      op: 'routeReplace' as const,
      ns: 'pod' as const,
      dst: normaliseDst(r.dst),
      gw,
      dev: contIf,
      scopeLink: false,
      table: MAIN_TABLE,
    }));
}

const normaliseDst = (dst: string): string => formatCidr(parseCidr(dst));

/** The ADD plan and the two interfaces it adds to the result (host veth, then the pod's egress interface). */
export function planEgressAdd(i: EgressAddInput): EgressAddPlan {
  if (!cidrContains(parseCidr(`${i.ip}/${i.prefixLen}`), i.gateway))
    throw new Error(`gateway ${i.gateway} is outside ${i.ip}/${i.prefixLen}`);
  const contIf = egressIfName(i.family);
  const ops: EgressOp[] = i.family === 4 ? v4Ops(i, contIf) : v6Ops(i, contIf);
  if (i.nodeIP !== '') ops.push(snatOp(i));
  return {
    ops,
    interfaces: [
      { name: i.hostIf, mac: i.hostMac },
      { name: contIf, mac: i.contMac, sandbox: i.netns },
    ],
  };
}

/** DEL: the SNAT chain (named after the container, so also without a netns), then the pod's egress veth. */
export function planEgressDel(i: {
  family: EgressFamily;
  network: string;
  containerId: string;
  /** false when CNI_NETNS is empty or gone: the veth went with the namespace. */
  podNetns: boolean;
}): EgressOp[] {
  const ops: EgressOp[] = [
    { op: 'snatDel', family: i.family, chain: chainName(i.family, i.network, i.containerId) },
  ];
  if (i.podNetns) ops.push({ op: 'linkDel', ns: 'pod', name: egressIfName(i.family) });
  return ops;
}

/**
 * The undo list for the applied ops of an ADD plan (in order). The veth is deleted from the pod end (its random
 * host name could in theory belong to something else), taking its addresses, routes and neighbours along.
 */
export function egressRollback(applied: readonly EgressOp[]): EgressOp[] {
  const undo: EgressOp[] = [];
  for (const op of [...applied].reverse()) {
    switch (op.op) {
      case 'snatAdd':
        undo.push({ op: 'snatDel', family: op.family, chain: op.chain });
        break;
      case 'snatDel':
        break;
      case 'vethAdd':
        undo.push({ op: 'linkDel', ns: 'pod', name: op.contIf });
        break;
      default:
        undo.push(...rollbackOps([op]));
    }
  }
  return undo;
}
