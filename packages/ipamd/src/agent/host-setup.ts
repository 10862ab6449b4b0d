// Node-wide host networking before ipamd serves: the primary link's MTU, then SNAT/connmark/mangle and the
// policy rules (hostnet/). Every run is counted in awscni_connmark_reconcile_total{result}, and the connmark
// backend in use (always the iptables form, see the package README) in awscni_connmark_backend.
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { Logger } from '@vpc-cni/shared/logging';
import type { IpamdMetrics } from '../http/index.js';

export interface HostPrimary {
  mac: string;
  primaryIp: string;
  vpcCidrs: string[];
}

export async function setupHost(
  cfg: IpamdConfig,
  primary: HostPrimary,
  logger: Logger,
  metrics: Pick<IpamdMetrics, 'connmarkBackend' | 'connmarkReconcile'>,
  o: { netnsPath?: string } = {},
): Promise<void> {
  const [{ applyHostNetwork }, { Netlink }] = await Promise.all([
    import('../hostnet/index.js'),
    import('@vpc-cni/shared/netlink'),
  ]);
  try {
    const nl = Netlink.open(o.netnsPath);
    let primaryIf: string;
    try {
      const link = nl.link.list().find((l) => l.mac?.toLowerCase() === primary.mac.toLowerCase());
      if (!link) throw new Error(`no interface has the primary ENI's MAC ${primary.mac}`);
      primaryIf = link.name;
      nl.link.setMtu(link.index, cfg.AWS_VPC_ENI_MTU);
    } finally {
      nl.close();
    }
    const r = applyHostNetwork(
      {
        ipv6: cfg.ENABLE_IPv6,
        vpcCidrs: primary.vpcCidrs,
        excludeSnatCidrs: cfg.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS,
        externalSnat: cfg.AWS_VPC_K8S_CNI_EXTERNALSNAT,
        randomizeSnat: cfg.AWS_VPC_K8S_CNI_RANDOMIZESNAT,
        nodePortSupport: cfg.AWS_VPC_CNI_NODE_PORT_SUPPORT,
        connmark: cfg.AWS_VPC_K8S_CNI_CONNMARK,
        vethPrefix: cfg.AWS_VPC_K8S_CNI_VETHPREFIX,
        primaryIf,
        primaryIp: primary.primaryIp,
        v6Egress: cfg.ENABLE_V6_EGRESS,
        v4Egress: cfg.ENABLE_V4_EGRESS,
        externalServiceCidrs: cfg.AWS_EXTERNAL_SERVICE_CIDRS,
        podEniStrict: cfg.ENABLE_POD_ENI && cfg.POD_SECURITY_GROUP_ENFORCING_MODE === 'strict',
      },
      o.netnsPath ? { netnsPath: o.netnsPath } : {},
    );
    metrics.connmarkReconcile.inc({ result: 'success' });
    metrics.connmarkBackend.set({ backend: 'iptables' }, 1);
    metrics.connmarkBackend.set({ backend: 'nftables' }, 0);
    logger.info(
      { primaryIf, iptablesChanged: r.v4 !== '' || r.v6 !== '', rulesChanged: r.rulesChanged },
      'host networking set up',
    );
  } catch (e) {
    metrics.connmarkReconcile.inc({ result: 'error' });
    throw e;
  }
}
