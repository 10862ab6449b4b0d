// Host networking variables (upstream names and defaults): SNAT, connmark, veth, MTU, rp_filter and what the
// entrypoint writes. Spread into `variables` (variables.ts) at their place in the docs table.
import { anyBaseIntInRange, intInRange, nonEmpty, oneOf, parseIPv4CidrList } from './parsers.js';
import { Rejected } from './errors.js';
import { E, I, N, bool, variable } from './variable.js';

const vethPrefix = (raw: string): string => {
  if (raw.length > 4 || ['eth', 'lo', 'vlan'].includes(raw)) {
    throw new Rejected('at most 4 characters, and not eth, lo or vlan');
  }
  return raw;
};

export const hostNetworkVariables = {
  AWS_VPC_K8S_CNI_EXTERNALSNAT: bool(
    'AWS_VPC_K8S_CNI_EXTERNALSNAT',
    [I],
    false,
    'No SNAT on the node: pods leave with their own address (NAT gateway does it).',
  ),
  AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: variable<string[]>({
    name: 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS',
    readBy: [I],
    default: [],
    defaultDoc: 'unset',
    parse: parseIPv4CidrList,
    description: 'Comma list of IPv4 CIDRs not SNATed (besides the VPC CIDRs).',
  }),
  AWS_EXTERNAL_SERVICE_CIDRS: variable<string[]>({
    name: 'AWS_EXTERNAL_SERVICE_CIDRS',
    readBy: [I],
    default: [],
    defaultDoc: 'unset',
    parse: parseIPv4CidrList,
    description: 'Comma list of IPv4 CIDRs routed through the main table (rule 1535).',
  }),
  AWS_VPC_K8S_CNI_RANDOMIZESNAT: variable({
    name: 'AWS_VPC_K8S_CNI_RANDOMIZESNAT',
    readBy: [I, E],
    default: 'prng' as 'none' | 'hashrandom' | 'prng',
    parse: oneOf(['none', 'hashrandom', 'prng'] as const),
    description: 'SNAT port randomisation: prng = --random-fully, hashrandom = --random, none.',
  }),
  AWS_VPC_CNI_NODE_PORT_SUPPORT: bool(
    'AWS_VPC_CNI_NODE_PORT_SUPPORT',
    [I],
    true,
    'Connmark rules so NodePort replies leave through the primary ENI.',
  ),
  AWS_VPC_K8S_CNI_CONNMARK: variable({
    name: 'AWS_VPC_K8S_CNI_CONNMARK',
    readBy: [I],
    default: 0x80,
    defaultDoc: '0x80',
    parse: anyBaseIntInRange(1, 0xffffffff),
    description: 'Connmark/fwmark value and mask.',
  }),
  AWS_VPC_ENI_MTU: variable({
    name: 'AWS_VPC_ENI_MTU',
    readBy: [I, E],
    default: 9001,
    parse: intInRange(576, 9001),
    description: 'MTU of ENIs and default pod MTU (IPv6: at least 1280).',
  }),
  POD_MTU: variable<number | undefined>({
    name: 'POD_MTU',
    readBy: [E],
    default: undefined,
    defaultDoc: 'AWS_VPC_ENI_MTU',
    parse: intInRange(576, 9001),
    description: 'Pod veth MTU in the conflist.',
  }),
  AWS_VPC_K8S_CNI_VETHPREFIX: variable({
    name: 'AWS_VPC_K8S_CNI_VETHPREFIX',
    readBy: [I, E],
    default: 'eni',
    parse: vethPrefix,
    description: 'Prefix of host-side veth names.',
  }),
  ENABLE_V6_EGRESS: bool(
    'ENABLE_V6_EGRESS',
    [I, E, N],
    false,
    "IPv4 cluster: egress-cni gives each pod IPv6 egress (v6if0, fd00::ac:0/118) SNATed to the node's IPv6 address; forced off when the node has none.",
  ),
  ENABLE_V4_EGRESS: bool(
    'ENABLE_V4_EGRESS',
    [E],
    true,
    "IPv6 cluster: egress-cni gives each pod IPv4 egress (v4if0, 169.254.172.0/22) SNATed to the node's primary IPv4 address.",
  ),
  ENABLE_BANDWIDTH_PLUGIN: bool(
    'ENABLE_BANDWIDTH_PLUGIN',
    [E],
    false,
    'Chain the bandwidth plugin in the conflist.',
  ),
  DISABLE_POD_V6: bool(
    'DISABLE_POD_V6',
    [E],
    false,
    'Chain the tuning plugin that disables IPv6 inside pods.',
  ),
  DISABLE_TCP_EARLY_DEMUX: bool(
    'DISABLE_TCP_EARLY_DEMUX',
    [N],
    false,
    'Set net.ipv4.tcp_early_demux=0 (needed for branch-ENI pod liveness probes).',
  ),
  HOST_CNI_BIN_PATH: variable({
    name: 'HOST_CNI_BIN_PATH',
    readBy: [E, N],
    default: '/host/opt/cni/bin',
    parse: nonEmpty,
    description: 'Where the CNI executables are installed.',
  }),
  HOST_CNI_CONFDIR_PATH: variable({
    name: 'HOST_CNI_CONFDIR_PATH',
    readBy: [E],
    default: '/host/etc/cni/net.d',
    parse: nonEmpty,
    description: 'Where 10-aws.conflist is written.',
  }),
} as const;
