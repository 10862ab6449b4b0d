// Rebuilding allocations when the checkpoint is lost or corrupt: every running pod has a host route
// `<pod IP>/32 dev <vethPrefix><hash> table main`, written by aws-cni. The pod's sandbox id is not recoverable,
// so the allocation gets a recognisable placeholder key; it keeps the address out of the pool until the pod's
// route disappears (its DEL removed it), when ipamd releases it.
import { Netlink } from '@vpc-cni/shared/netlink';
import type { Allocation } from '../store/index.js';

export const RECOVERED_NETWORK = '_recovered-from-host-routes';

export function recoverFromHostRoutes(vethPrefix: string, nowNs: bigint): Allocation[] {
  const nl = Netlink.open();
  try {
    const names = new Map(nl.link.list().map((l) => [l.index, l.name]));
    const out: Allocation[] = [];
    for (const family of [4, 6] as const) {
      for (const r of nl.route.list(family)) {
        const dev = r.oif === undefined ? undefined : names.get(r.oif);
        const [ip, bits] = r.dst.split('/');
        if (!dev?.startsWith(vethPrefix) || !ip || Number(bits) !== (family === 4 ? 32 : 128)) continue;
        out.push({
          key: { networkName: RECOVERED_NETWORK, containerID: `recovered-${ip}`, ifName: dev },
          address: ip,
          family,
          metadata: { k8sPodNamespace: '', k8sPodName: '', interfacesCount: 1 },
          assignedAtNs: nowNs,
        });
      }
    }
    return out;
  } finally {
    nl.close();
  }
}
