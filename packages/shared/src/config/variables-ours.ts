// Our own variables (VPC_CNI_*, not in upstream): listen addresses, waits, installer paths, test hooks, and
// features upstream does not have. Spread into `variables` (variables.ts) at their place in the docs table.
import { Rejected } from './errors.js';
import { anyString, intAtLeast, jsonText, nonEmpty, parseListenAddress } from './parsers.js';
import { E, I, N, bool as boolVar, variable } from './variable.js';

const bool = (
  name: string,
  readBy: Array<typeof I | typeof E | typeof N>,
  def: boolean,
  description: string,
) => boolVar(name, readBy, def, description, { ours: true });

export const oursVariables = {
  VPC_CNI_IPAMD_SOCKET: variable({
    name: 'VPC_CNI_IPAMD_SOCKET',
    readBy: [I, E],
    default: '/var/run/aws-node/ipamd.sock',
    parse: nonEmpty,
    ours: true,
    description: 'Unix socket ipamd serves gRPC on.',
  }),
  VPC_CNI_NPA_SOCKET: variable({
    name: 'VPC_CNI_NPA_SOCKET',
    readBy: [E],
    default: '/var/run/aws-node/npa.sock',
    parse: (raw) => {
      if (!raw.startsWith('/') || Buffer.byteLength(raw) > 107)
        throw new Rejected('an absolute socket path of at most 107 bytes');
      return raw;
    },
    ours: true,
    description:
      "Unix socket of aws-network-policy-agent (its --npa-socket); when not the default, the conflist's npaEndpoint names it for aws-cni.",
  }),
  VPC_CNI_IPAMD_TCP_ADDRESS: variable({
    name: 'VPC_CNI_IPAMD_TCP_ADDRESS',
    readBy: [I],
    default: '',
    defaultDoc: 'unset (off)',
    parse: parseListenAddress,
    ours: true,
    description: 'Also serve gRPC on this loopback TCP address (e.g. 127.0.0.1:50051) for older plugins.',
  }),
  VPC_CNI_METRICS_BIND_ADDRESS: variable({
    name: 'VPC_CNI_METRICS_BIND_ADDRESS',
    readBy: [I],
    default: ':61678',
    parse: parseListenAddress,
    ours: true,
    description: 'Prometheus listen address (upstream: all interfaces, port 61678).',
  }),
  VPC_CNI_ADD_WAIT_SECONDS: variable({
    name: 'VPC_CNI_ADD_WAIT_SECONDS',
    readBy: [I],
    default: 10,
    parse: intAtLeast(0),
    ours: true,
    description: 'How long an AddNetwork waits for the pool to grow before failing.',
  }),
  VPC_CNI_HEALTH_WAIT_SECONDS: variable({
    name: 'VPC_CNI_HEALTH_WAIT_SECONDS',
    readBy: [E],
    default: 0,
    defaultDoc: '0 (forever, as upstream)',
    parse: intAtLeast(0),
    ours: true,
    description: 'How long the entrypoint waits for ipamd to report SERVING.',
  }),
  VPC_CNI_SOURCE_BIN_DIR: variable({
    name: 'VPC_CNI_SOURCE_BIN_DIR',
    readBy: [E, N],
    default: '',
    defaultDoc: "the executable's directory",
    parse: anyString,
    ours: true,
    description: 'Where the executables to install are taken from.',
  }),
  VPC_CNI_MOUNT_BPFFS: bool(
    'VPC_CNI_MOUNT_BPFFS',
    [N],
    true,
    'Mount bpffs at VPC_CNI_BPFFS_PATH when it is not mounted yet.',
  ),
  VPC_CNI_BPFFS_PATH: variable({
    name: 'VPC_CNI_BPFFS_PATH',
    readBy: [N],
    default: '/sys/fs/bpf',
    parse: nonEmpty,
    ours: true,
    description: 'Where bpffs is expected.',
  }),
  VPC_CNI_STATIC_ENIS: variable({
    name: 'VPC_CNI_STATIC_ENIS',
    readBy: [I],
    default: '',
    defaultDoc: 'unset (ENIs come from IMDS/EC2)',
    parse: jsonText,
    ours: true,
    description:
      'Test and demo only: the node ENIs and their addresses as JSON, instead of IMDS/EC2 (see packages/ipamd README).',
  }),
  VPC_CNI_MANAGE_BRANCH_ENIS: bool(
    'VPC_CNI_MANAGE_BRANCH_ENIS',
    [I],
    false,
    'With ENABLE_POD_ENI, ipamd itself attaches the trunk ENI and creates branch ENIs for pods matching a SecurityGroupPolicy (clusters without the VPC resource controller).',
  ),
} as const;
