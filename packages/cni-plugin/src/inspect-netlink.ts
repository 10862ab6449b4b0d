// KernelView for CHECK over @vpc-cni/shared/netlink: reads the pod side through a socket bound in the pod netns
// and the host side through one in ours.
import { Netlink } from '@vpc-cni/shared/netlink';
import type { KernelView } from './commands/check.js';

const bare = (cidr: string | undefined): string | undefined => cidr?.replace(/\/\d+$/, '');

export function netlinkView(podNetns: string): KernelView & { close(): void } {
  const host = Netlink.open();
  let pod: Netlink | undefined;
  try {
    // An empty CNI_NETNS names no namespace (Netlink.open('') would read the host's own).
    pod = podNetns ? Netlink.open(podNetns) : undefined;
  } catch {
    pod = undefined; // no pod netns: every pod-side question answers "absent", which CHECK reports precisely
  }
  return {
    close: () => {
      pod?.close();
      host.close();
    },
    podAddrs: (ifName) => {
      const link = pod?.link.find(ifName);
      return link && pod ? pod.addr.list({ link: link.index }).map((a) => bare(a.cidr) ?? '') : undefined;
    },
    podDefaultGw: (ifName, family) => {
      const link = pod?.link.find(ifName);
      const def = family === 4 ? '0.0.0.0/0' : '::/0';
      return link && pod
        ? pod.route.list(family).find((r) => r.dst === def && r.oif === link.index)?.gateway
        : undefined;
    },
    hostLinkExists: (name) => host.link.find(name) !== undefined,
    hostRouteDev: (ip, table) => {
      const dst = ip.includes(':') ? `${ip}/128` : `${ip}/32`;
      const route = host.route.list(ip.includes(':') ? 6 : 4, table).find((r) => r.dst === dst);
      return route?.oif === undefined ? undefined : host.link.find(route.oif)?.name;
    },
    vethPairOwned: (hostIf, contIf) => {
      const h = host.link.find(hostIf);
      const c = pod?.link.find(contIf);
      return (
        h !== undefined &&
        c !== undefined &&
        h.kind === 'veth' &&
        h.parentIndex === c.index &&
        c.parentIndex === h.index &&
        h.linkNetnsId !== undefined &&
        c.linkNetnsId !== undefined
      );
    },
    hostRules: (family) =>
      host.rule.list(family).map((r) => ({
        priority: r.priority,
        src: bare(r.src),
        dst: bare(r.dst),
        iif: r.iif,
        table: r.table,
      })),
  };
}
