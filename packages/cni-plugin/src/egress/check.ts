// CHECK for egress-cni: what the kernel and iptables hold (read over netlink and iptables-save), compared with
// what ADD set up by a pure function.
import type { Netlink } from '@vpc-cni/shared/netlink';
import type { SnatAddOp } from './plan.js';
import { snatScript } from './snat.js';

export interface EgressObservation {
  /** Addresses on the pod's egress interface; undefined when the interface is missing. */
  readonly podCidrs: readonly string[] | undefined;
  /** The device of the host route to the egress address; undefined when there is none. */
  readonly hostRouteDev: string | undefined;
  /** `iptables-save -t nat` (or ip6tables) text. */
  readonly natSave: string;
}

export interface EgressExpectation {
  readonly contIf: string;
  readonly cidr: string;
  readonly ip: string;
  /** The host veth named in prevResult, when it names one. */
  readonly hostIf: string | undefined;
  readonly snat: SnatAddOp | undefined;
}

export function checkProblems(want: EgressExpectation, got: EgressObservation): string[] {
  const out: string[] = [];
  if (got.podCidrs === undefined) out.push(`interface ${want.contIf} missing in the pod`);
  else if (!got.podCidrs.includes(want.cidr)) out.push(`address ${want.cidr} missing on ${want.contIf}`);
  if (got.hostRouteDev === undefined) out.push(`host route to ${want.ip} missing`);
  else if (want.hostIf !== undefined && got.hostRouteDev !== want.hostIf)
    out.push(`host route to ${want.ip} goes to ${got.hostRouteDev}, not ${want.hostIf}`);
  if (want.snat && snatScript(got.natSave, want.snat) !== '')
    out.push(`SNAT chain ${want.snat.chain} or its POSTROUTING jump missing or changed`);
  return out;
}

/** Reads the observation over netlink (host = this namespace) and iptables-save. */
export async function observeEgress(o: {
  netns: string;
  family: 4 | 6;
  contIf: string;
  ip: string;
}): Promise<EgressObservation> {
  const [nl, { detectBackend, iptablesRunner }] = await Promise.all([
    import('@vpc-cni/shared/netlink'),
    import('@vpc-cni/shared/iptables'),
  ]);
  const host = nl.Netlink.open();
  let pod: Netlink | undefined;
  try {
    pod = nl.Netlink.open(o.netns);
    const link = pod.link.find(o.contIf);
    const podCidrs = link
      ? pod.addr.list({ link: link.index, family: o.family }).map((a) => a.cidr)
      : undefined;
    const hostCidr = `${o.ip}/${o.family === 4 ? 32 : 128}`;
    const route = host.route.list(o.family).find((r) => r.dst === hostCidr);
    const hostRouteDev = route?.oif === undefined ? undefined : host.link.find(route.oif)?.name;
    const natSave = iptablesRunner(undefined, detectBackend()).save(o.family, 'nat');
    return { podCidrs, hostRouteDev, natSave };
  } finally {
    pod?.close();
    host.close();
  }
}
