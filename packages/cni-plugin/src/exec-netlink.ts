// The OpExecutor over @vpc-cni/shared/netlink: one handle in the host netns (where the plugin runs) and one
// bound inside the pod netns, opened on first use. Same kernel state as `ip` would produce, without a process
// per operation.
import {
  IFA_F_DADFAILED,
  IFA_F_TENTATIVE,
  Netlink,
  RT_SCOPE_LINK,
  isNetlinkError,
  sysctlSet,
} from '@vpc-cni/shared/netlink';
import type { OpExecutor } from './commands/deps.js';
import type { Op } from './plan/ops.js';

/** This thread's namespace file: the host side, since the plugin runs in the host netns. */
const SELF_NETNS = '/proc/thread-self/ns/net';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function netlinkExecutor(): OpExecutor {
  let host: Netlink | undefined;
  const pods = new Map<string, Netlink>();
  const hostNl = (): Netlink => (host ??= Netlink.open());
  const podNl = (path: string): Netlink => {
    let nl = pods.get(path);
    if (!nl) pods.set(path, (nl = Netlink.open(path)));
    return nl;
  };

  async function waitDad(nl: Netlink, dev: string, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const busy = nl.addr
        .list({ link: dev, family: 6 })
        .some((a) => (a.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) !== 0);
      if (!busy) return;
      if (Date.now() > until)
        throw new Error(`link ${dev} still has tentative addresses after ${timeoutMs / 1000}s`);
      await sleep(20);
    }
  }

  return {
    close(): void {
      host?.close();
      for (const nl of pods.values()) nl.close();
      pods.clear();
      host = undefined;
    },
    async apply(op: Op, podNetns: string): Promise<void> {
      const nl = (): Netlink => ('ns' in op && op.ns === 'pod' ? podNl(podNetns) : hostNl());
      switch (op.op) {
        case 'linkDel':
          nl().link.delIfExists(op.name);
          return;
        case 'vethAdd':
          // Created inside the pod netns; the host end is placed in our netns under its final name.
          podNl(podNetns).link.addVeth(
            op.contIf,
            { name: op.hostIf, mac: op.hostMac, mtu: op.mtu, netns: SELF_NETNS },
            { mtu: op.mtu, ...(op.contMac ? { mac: op.contMac } : {}) },
          );
          return;
        case 'vlanAdd':
          // Name the real cause when ipamd's trunk index is stale, rather than a generic kernel refusal.
          if (!hostNl().link.find(op.parentIndex))
            throw new Error(
              `trunk interface with index ${op.parentIndex} not found (has the trunk ENI been detached?)`,
            );
          try {
            hostNl().link.addVlan(op.name, op.parentIndex, op.vlanId, { mac: op.mac });
          } catch (e) {
            if (!isNetlinkError(e, 'EOPNOTSUPP')) throw e;
            throw new Error(
              'this kernel cannot create VLAN links, which branch-ENI (security groups for pods) pods need: ' +
                'load the 802.1Q module on the node (modprobe 8021q) or keep such pods off this node',
            );
          }
          return;
        case 'sysctl':
          try {
            sysctlSet(op.key, op.value, op.ns === 'pod' ? podNetns : undefined);
          } catch (e) {
            if (!(op.optional && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw e;
          }
          return;
        case 'linkUp':
          nl().link.setUp(op.name);
          return;
        case 'routeReplace':
        case 'routeAdd': {
          const route = {
            dst: op.dst,
            gateway: op.gw,
            dev: op.dev,
            table: op.table,
            scope: op.scopeLink ? RT_SCOPE_LINK : undefined,
            ...(op.src ? { src: op.src } : {}),
          };
          if (op.op === 'routeAdd') nl().route.add(route);
          else nl().route.replace(route);
          return;
        }
        case 'ruleAdd':
          nl().rule.ensure({
            family: op.family,
            priority: op.priority,
            table: op.table,
            src: op.from,
            dst: op.to,
            iif: op.iif,
          });
          return;
        case 'ruleDelAll':
          nl().rule.delAll({
            family: op.family,
            priority: op.priority,
            table: op.table ?? 0,
            src: op.from,
            dst: op.to,
            iif: op.iif,
          });
          return;
        case 'routeDel':
          try {
            nl().route.delIfExists({ dst: op.dst, table: op.table, dev: op.dev });
          } catch (e) {
            if (!isNetlinkError(e, 'ENODEV')) throw e; // the device is gone, and its routes with it
          }
          return;
        case 'addrAdd':
          nl().addr.add(op.dev, op.cidr, op.scopeLink ? { scope: RT_SCOPE_LINK } : {});
          return;
        case 'neighAdd':
          nl().neigh.add(op.dev, op.ip, op.lladdr);
          return;
        case 'waitDad':
          await waitDad(nl(), op.dev, op.timeoutMs);
          return;
      }
    },
  };
}
