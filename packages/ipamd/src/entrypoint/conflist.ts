// 10-aws.conflist from the environment (docs/architecture.md#node-bootstrap). Rendered from a typed
// structure, so portmap keeps its `"snat": true` and the chained bandwidth/tuning plugins are simply appended
// (upstream's re-serialisation dropped snat: a quirk we do not copy, spec "Decisions" 4).
import type { EntrypointConfig } from '@vpc-cni/shared/config';

export const DEFAULT_IPAMD_SOCKET = '/var/run/aws-node/ipamd.sock';
export const DEFAULT_NPA_SOCKET = '/var/run/aws-node/npa.sock';

export interface ConflistInputs {
  /** IMDS local-ipv4 (IPv6 cluster) or ipv6 (IPv4 cluster with v6 egress); '' otherwise. */
  nodeIp: string;
  /** IPv4 cluster: false when the node has no IPv6 address (v6 egress is then forced off). */
  nodeHasIpv6: boolean;
}

export function renderConflist(cfg: EntrypointConfig, inputs: ConflistInputs): Record<string, unknown> {
  const v6 = cfg.ENABLE_IPv6;
  const egressEnabled = v6 ? cfg.ENABLE_V4_EGRESS : cfg.ENABLE_V6_EGRESS && inputs.nodeHasIpv6;
  const mtu = String(cfg.podMtu);
  const plugins: Record<string, unknown>[] = [
    {
      name: 'aws-cni',
      type: 'aws-cni',
      vethPrefix: cfg.AWS_VPC_K8S_CNI_VETHPREFIX,
      mtu,
      podSGEnforcingMode: cfg.POD_SECURITY_GROUP_ENFORCING_MODE,
      pluginLogFile: cfg.AWS_VPC_K8S_PLUGIN_LOG_FILE,
      pluginLogLevel: cfg.AWS_VPC_K8S_PLUGIN_LOG_LEVEL,
      capabilities: { 'io.kubernetes.cri.pod-annotations': true },
      // Only when ipamd listens elsewhere than the default socket (tests, simulated nodes): the plugin must follow.
      ...(cfg.VPC_CNI_IPAMD_SOCKET !== DEFAULT_IPAMD_SOCKET
        ? { ipamdEndpoint: `unix://${cfg.VPC_CNI_IPAMD_SOCKET}` }
        : {}),
      // Likewise the network policy agent's socket (one per node when several nodes share a machine).
      ...(cfg.VPC_CNI_NPA_SOCKET !== DEFAULT_NPA_SOCKET
        ? { npaEndpoint: `unix://${cfg.VPC_CNI_NPA_SOCKET}` }
        : {}),
    },
    {
      name: 'egress-cni',
      type: 'egress-cni',
      mtu,
      enabled: String(egressEnabled),
      randomizeSNAT: cfg.AWS_VPC_K8S_CNI_RANDOMIZESNAT,
      nodeIP: inputs.nodeIp,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: v6 ? '169.254.172.0/22' : 'fd00::ac:00/118' }]],
        routes: [{ dst: v6 ? '0.0.0.0/0' : '::/0' }],
        dataDir: v6 ? '/run/cni/v6pd/egress-v4-ipam' : '/run/cni/v4pd/egress-v6-ipam',
      },
      pluginLogFile: v6
        ? cfg.AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE
        : cfg.AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE,
      pluginLogLevel: cfg.AWS_VPC_K8S_PLUGIN_LOG_LEVEL,
    },
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
  ];
  if (cfg.ENABLE_BANDWIDTH_PLUGIN) plugins.push({ type: 'bandwidth', capabilities: { bandwidth: true } });
  if (cfg.DISABLE_POD_V6)
    plugins.push({
      type: 'tuning',
      sysctl: {
        'net.ipv6.conf.all.disable_ipv6': '1',
        'net.ipv6.conf.default.disable_ipv6': '1',
        'net.ipv6.conf.lo.disable_ipv6': '1',
      },
    });
  return { cniVersion: '0.4.0', name: 'aws-cni', disableCheck: true, plugins };
}
