// Every environment variable vpc-cni-ts reads: the single source of truth for names, defaults, parsing and the
// docs table. Upstream names and defaults; ours are marked and prefixed VPC_CNI_.
import {
  anyString,
  intAtLeast,
  nonEmpty,
  oneOf,
  parseAtoi,
  parseBool,
  parseJsonStringMap,
  parseListenAddress,
  httpUrl,
} from './parsers.js';
import { Rejected } from './errors.js';
import { E, I, N, bool, variable } from './variable.js';
import { hostNetworkVariables } from './variables-hostnet.js';
import { oursVariables } from './variables-ours.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
const logLevel = (raw: string): LogLevelName => oneOf(LOG_LEVELS, { caseInsensitive: true })(raw);

const pluginLogFile = (raw: string): string => {
  if (raw === 'stdout') throw new Rejected('a file path or stderr (stdout is the CNI result channel)');
  return raw;
};

export const variables = {
  // --- address family and pool ---
  ENABLE_IPv4: variable<boolean | undefined>({
    name: 'ENABLE_IPv4',
    readBy: [I],
    default: undefined,
    defaultDoc: 'not ENABLE_IPv6',
    manifest: 'true',
    parse: parseBool,
    description:
      'IPv4 cluster. Exactly one of ENABLE_IPv4/ENABLE_IPv6 must be true; unset means the opposite of ENABLE_IPv6 (upstream code defaults to false and then refuses to start).',
  }),
  ENABLE_IPv6: bool(
    'ENABLE_IPv6',
    [I, E, N],
    false,
    'IPv6 cluster (needs ENABLE_PREFIX_DELEGATION=true, no custom networking).',
  ),
  ENABLE_PREFIX_DELEGATION: bool(
    'ENABLE_PREFIX_DELEGATION',
    [I, E],
    false,
    'Assign /28 (IPv4) or /80 (IPv6) prefixes to ENIs instead of secondary IPs.',
  ),
  WARM_ENI_TARGET: variable({
    name: 'WARM_ENI_TARGET',
    readBy: [I],
    default: 1,
    parse: intAtLeast(0),
    description:
      'Secondary-IP mode without WARM_IP/MINIMUM_IP targets: keep this many ENIs worth of free addresses.',
  }),
  WARM_IP_TARGET: variable({
    name: 'WARM_IP_TARGET',
    readBy: [I, E],
    default: 0,
    defaultDoc: '0 (unset)',
    parse: intAtLeast(0),
    description: 'Free addresses to keep; > 0 overrides WARM_ENI_TARGET / WARM_PREFIX_TARGET.',
  }),
  MINIMUM_IP_TARGET: variable({
    name: 'MINIMUM_IP_TARGET',
    readBy: [I, E],
    default: 0,
    defaultDoc: '0 (unset)',
    parse: intAtLeast(0),
    description: 'Floor on total addresses held by the node.',
  }),
  WARM_PREFIX_TARGET: variable({
    name: 'WARM_PREFIX_TARGET',
    readBy: [I, E],
    default: 0,
    manifest: '1',
    parse: intAtLeast(0),
    description: 'Prefix delegation without WARM_IP/MINIMUM_IP targets: free /28 prefixes to keep.',
  }),
  MAX_ENI: variable<number | undefined>({
    name: 'MAX_ENI',
    readBy: [I],
    default: undefined,
    defaultDoc: 'unset (instance limit)',
    parse: (r) => {
      const n = parseAtoi(r, 'an integer (values below 1 mean no cap)');
      return n >= 1 ? n : undefined;
    },
    description: 'Cap on ENIs per network card; never above the instance limit.',
  }),
  IP_COOLDOWN_PERIOD: variable({
    name: 'IP_COOLDOWN_PERIOD',
    readBy: [I, E],
    default: 30,
    parse: intAtLeast(0),
    description: 'Seconds before a released address is handed out again.',
  }),
  // --- custom networking, subnet discovery, security groups for pods ---
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: bool(
    'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG',
    [I],
    false,
    "Custom networking: pod ENIs go into the subnet and security groups of the node's ENIConfig.",
  ),
  ENI_CONFIG_ANNOTATION_DEF: variable({
    name: 'ENI_CONFIG_ANNOTATION_DEF',
    readBy: [I],
    default: 'k8s.amazonaws.com/eniConfig',
    parse: nonEmpty,
    description: 'Node annotation naming the ENIConfig.',
  }),
  ENI_CONFIG_LABEL_DEF: variable({
    name: 'ENI_CONFIG_LABEL_DEF',
    readBy: [I],
    default: 'k8s.amazonaws.com/eniConfig',
    parse: nonEmpty,
    description: 'Node label naming the ENIConfig.',
  }),
  ENABLE_SUBNET_DISCOVERY: bool(
    'ENABLE_SUBNET_DISCOVERY',
    [I],
    true,
    'Create ENIs in subnets tagged kubernetes.io/role/cni=1 when the primary subnet runs out.',
  ),
  ENABLE_POD_ENI: bool('ENABLE_POD_ENI', [I, E], false, 'Security groups for pods (trunk and branch ENIs).'),
  POD_SECURITY_GROUP_ENFORCING_MODE: variable({
    name: 'POD_SECURITY_GROUP_ENFORCING_MODE',
    readBy: [I, E],
    default: 'strict' as 'strict' | 'standard',
    parse: oneOf(['strict', 'standard'] as const),
    description: 'How branch-ENI pods are wired: strict (all traffic via the branch ENI) or standard.',
  }),
  ENABLE_MULTI_NIC: bool(
    'ENABLE_MULTI_NIC',
    [I],
    false,
    'Manage every network card (a card holding only an efa-only interface is left alone); cards > 0 keep 1 address warm. A pod annotated k8s.amazonaws.com/nicConfig: multi-nic-attachment gets one address and interface per managed card, all or nothing; while false (or on a single-card type) such a pod is refused. Per-card gauges vpccni_network_card_* and /v1/network-cards. In IPv6 mode each managed card > 0 without an ENI gets one (one IPv6 address, then one /80 prefix) and such a pod one IPv6 address per card. With ENABLE_IMDS_ONLY_MODE a card > 0 is managed from the ENIs with addresses IMDS lists on it.',
  ),
  AWS_MANAGE_ENIS_NON_SCHEDULABLE: bool(
    'AWS_MANAGE_ENIS_NON_SCHEDULABLE',
    [I],
    false,
    'Keep growing/shrinking the pool on a cordoned node.',
  ),
  DISABLE_NETWORK_RESOURCE_PROVISIONING: bool(
    'DISABLE_NETWORK_RESOURCE_PROVISIONING',
    [I],
    false,
    'No EC2 mutations (ENIs/IPs must be pre-provisioned); reconcile still runs.',
  ),
  ENABLE_IMDS_ONLY_MODE: bool(
    'ENABLE_IMDS_ONLY_MODE',
    [I],
    false,
    'No EC2 calls at all; implies DISABLE_NETWORK_RESOURCE_PROVISIONING.',
  ),
  DISABLE_LEAKED_ENI_CLEANUP: bool(
    'DISABLE_LEAKED_ENI_CLEANUP',
    [I],
    false,
    'Do not delete detached ENIs this cluster/instance leaked.',
  ),
  MANAGE_UNTAGGED_ENI: bool('MANAGE_UNTAGGED_ENI', [I], true, 'Treat ENIs without CNI tags as managed.'),
  ANNOTATE_POD_IP: bool('ANNOTATE_POD_IP', [I], false, 'Annotate pods with vpc.amazonaws.com/pod-ips.'),
  NETWORK_POLICY_ENFORCING_MODE: variable({
    name: 'NETWORK_POLICY_ENFORCING_MODE',
    readBy: [I],
    default: '',
    defaultDoc: 'unset',
    manifest: 'standard',
    parse: (r) => {
      oneOf(['none', 'strict', 'standard'] as const, { caseInsensitive: true })(r);
      return r;
    },
    description: 'Passed verbatim to the plugin and the network-policy agent.',
  }),
  // --- identity, endpoints, files ---
  AWS_VPC_K8S_CNI_BACKING_STORE: variable({
    name: 'AWS_VPC_K8S_CNI_BACKING_STORE',
    readBy: [I],
    default: '/var/run/aws-node/ipam.json',
    parse: nonEmpty,
    description: 'Checkpoint file of every allocation.',
  }),
  CLUSTER_NAME: variable({
    name: 'CLUSTER_NAME',
    readBy: [I],
    default: '',
    defaultDoc: 'unset',
    parse: anyString,
    description: 'Cluster tag on ENIs; leaked-ENI cleanup filter.',
  }),
  ADDITIONAL_ENI_TAGS: variable<Record<string, string>>({
    name: 'ADDITIONAL_ENI_TAGS',
    readBy: [I],
    default: {},
    defaultDoc: '{}',
    parse: parseJsonStringMap,
    description: 'Extra tags on ENIs we create (keys containing k8s.amazonaws.com are dropped).',
  }),
  MY_NODE_NAME: variable({
    name: 'MY_NODE_NAME',
    readBy: [I],
    default: '',
    defaultDoc: 'unset (downward API)',
    parse: anyString,
    description: "This node's name (Node, CNINode, pod watch filter).",
  }),
  MY_POD_NAME: variable({
    name: 'MY_POD_NAME',
    readBy: [I],
    default: '',
    defaultDoc: 'unset (downward API)',
    parse: anyString,
    description: 'aws-node pod name, the target of events.',
  }),
  CLUSTER_ENDPOINT: variable({
    name: 'CLUSTER_ENDPOINT',
    readBy: [I],
    default: '',
    defaultDoc: 'unset',
    parse: anyString,
    description: 'Kubernetes API server URL override.',
  }),
  VPC_CNI_VERSION: variable({
    name: 'VPC_CNI_VERSION',
    readBy: [I],
    default: '',
    defaultDoc: 'unset',
    parse: anyString,
    description: 'Version in the User-Agent of EC2 calls (amazon-vpc-cni-k8s/<version>).',
  }),
  HTTP_TIMEOUT: variable({
    name: 'HTTP_TIMEOUT',
    readBy: [I],
    default: 10,
    parse: (r) => Math.max(10, parseAtoi(r, 'an integer number of seconds (values below 10 count as 10)')),
    description: 'AWS HTTP timeout in seconds.',
  }),
  AWS_EC2_ENDPOINT: variable({
    name: 'AWS_EC2_ENDPOINT',
    readBy: [I],
    default: '',
    defaultDoc: 'unset',
    parse: anyString,
    description: 'Custom EC2 endpoint URL (honoured; inert upstream).',
  }),
  INTROSPECTION_BIND_ADDRESS: variable({
    name: 'INTROSPECTION_BIND_ADDRESS',
    readBy: [I],
    default: '127.0.0.1:61679',
    parse: parseListenAddress,
    description: 'Introspection HTTP listen address (unix:<path> allowed).',
  }),
  DISABLE_INTROSPECTION: bool('DISABLE_INTROSPECTION', [I], false, 'Turn off the introspection endpoint.'),
  DISABLE_METRICS: bool('DISABLE_METRICS', [I], false, 'Turn off the Prometheus endpoint.'),
  // --- logging ---
  AWS_VPC_K8S_CNI_LOGLEVEL: variable<LogLevelName>({
    name: 'AWS_VPC_K8S_CNI_LOGLEVEL',
    readBy: [I, E, N],
    default: 'debug',
    defaultDoc: 'Debug',
    manifest: 'DEBUG',
    parse: logLevel,
    description: 'Log level of ipamd, the entrypoint and init.',
  }),
  AWS_VPC_K8S_CNI_LOG_FILE: variable({
    name: 'AWS_VPC_K8S_CNI_LOG_FILE',
    readBy: [I],
    default: '/host/var/log/aws-routed-eni/ipamd.log',
    parse: nonEmpty,
    description: 'ipamd log: stdout, stderr or a file path.',
  }),
  AWS_VPC_K8S_PLUGIN_LOG_FILE: variable({
    name: 'AWS_VPC_K8S_PLUGIN_LOG_FILE',
    readBy: [E],
    default: '/var/log/aws-routed-eni/plugin.log',
    parse: pluginLogFile,
    description: 'aws-cni log file (written into the conflist).',
  }),
  AWS_VPC_K8S_PLUGIN_LOG_LEVEL: variable({
    name: 'AWS_VPC_K8S_PLUGIN_LOG_LEVEL',
    readBy: [E],
    default: 'Debug',
    manifest: 'DEBUG',
    parse: (r) => {
      logLevel(r);
      return r;
    },
    description: 'Log level of both plugins (written into the conflist).',
  }),
  AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE: variable({
    name: 'AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE',
    readBy: [E],
    default: '/var/log/aws-routed-eni/egress-v4-plugin.log',
    parse: pluginLogFile,
    description: 'egress-cni log in IPv6 clusters.',
  }),
  AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE: variable({
    name: 'AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE',
    readBy: [E],
    default: '/var/log/aws-routed-eni/egress-v6-plugin.log',
    parse: pluginLogFile,
    description: 'egress-cni log in IPv4 clusters.',
  }),
  // --- host networking ---
  ...hostNetworkVariables,
  // --- ours (VPC_CNI_*) ---
  ...oursVariables,
  AWS_EC2_METADATA_SERVICE_ENDPOINT: variable({
    name: 'AWS_EC2_METADATA_SERVICE_ENDPOINT',
    readBy: [I, N],
    default: 'http://169.254.169.254',
    parse: httpUrl,
    description: 'IMDS endpoint (the AWS SDK setting of the same name; tests point it at the simulator).',
  }),
} as const;

export type Variables = typeof variables;
export type VariableName = keyof Variables;
/** Parsed values of every variable. */
export type Settings = {
  -readonly [K in VariableName]: Variables[K]['default'] | ReturnType<Variables[K]['parse']>;
};
