// Per-ENI host networking (docs/architecture.md#per-eni-host-networking): a secondary ENI's link is brought
// up with its MTU and primary address, gets its own route table (gateway link route + default via the
// gateway) and a `from <ENI primary IP>` rule at 32765; the kernel's connected subnet route leaves the main
// table so replies use the ENI's table. Freeing the ENI removes its table and rule. Runs in the current netns
// through one netlink handle.
import { familyOf, nthAddress, parseCidr } from '@vpc-cni/shared/ipmath';
import {
  isNetlinkError,
  type Link,
  Netlink,
  type NetnsRef,
  RT_SCOPE_LINK,
  RT_TABLE_MAIN,
} from '@vpc-cni/shared/netlink';

import { type TableChoice, routeTableForEni } from '../cards/index.js';

export const ENI_RULE_PRIORITY = 32765;
const RTPROT_KERNEL = 2;

export interface EniNetwork {
  mac: string;
  /** The ENI's own primary address (not a pod address). */
  primaryIp: string;
  /** The ENI subnet, e.g. 10.0.1.0/24. */
  subnetCidr: string;
  /** Route table: device number + 1 on network card 0 (never 254). */
  table: number;
  mtu: number;
  isTrunk?: boolean;
  /** A `from <primaryIp>` rule exists already (a card > 0 table reused, `eniTable`): add none. */
  ruleExists?: boolean;
}

export interface FindLinkOptions {
  attempts: number;
  intervalMs: number;
}

/** An attached ENI takes a moment to show up as a link. Upstream looks 5 times, 3 s apart; we look every 100 ms
 * within the same 15 s, so a new ENI joins the pool as soon as its link exists. */
export const DEFAULT_FIND: FindLinkOptions = { attempts: 150, intervalMs: 100 };

export class EniLinkNotFound extends Error {
  constructor(mac: string, attempts: number) {
    super(
      `setupENINetwork: failed to find the link which uses MAC address ${mac} (after ${attempts} attempts)`,
    );
    this.name = 'EniLinkNotFound';
  }
}

export const gatewayOf = (subnetCidr: string): string => {
  const c = parseCidr(subnetCidr);
  return c.family === 4 ? nthAddress(c, 1n) : 'fe80:ec2::1';
};

export function findLinkByMac(nl: Netlink, mac: string): Link | undefined {
  const want = mac.toLowerCase();
  return nl.link.list().find((l) => l.mac === want);
}

/** Poll for the link with this MAC (in `netns`, default the current one: each poll opens its own handle). */
export async function waitForLink(
  mac: string,
  o: FindLinkOptions = DEFAULT_FIND,
  netns?: NetnsRef,
): Promise<Link> {
  for (let i = 0; i < o.attempts; i++) {
    const nl = Netlink.open(netns);
    try {
      const l = findLinkByMac(nl, mac);
      if (l) return l;
    } finally {
      nl.close();
    }
    if (i + 1 < o.attempts) await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  throw new EniLinkNotFound(mac, o.attempts);
}

/** Configure one secondary ENI; idempotent (a restart re-runs it on every adopted ENI). */
export function setupEniNetwork(nl: Netlink, eni: EniNetwork): Link {
  if (eni.table === RT_TABLE_MAIN)
    throw new Error('setupENINetwork should never be called on the primary ENI');
  const link = findLinkByMac(nl, eni.mac);
  if (!link) throw new EniLinkNotFound(eni.mac, 1);
  const fam = familyOf(eni.primaryIp);
  const subnet = parseCidr(eni.subnetCidr);
  const gw = gatewayOf(eni.subnetCidr);
  const hostBits = fam === 4 ? 32 : 128;
  nl.link.setMtu(link.index, eni.mtu);
  nl.link.setUp(link.index);
  const want = `${eni.primaryIp}/${subnet.bits}`;
  for (const a of nl.addr.list({ family: fam, link: link.index }))
    if (a.scope === 0 && a.cidr !== want) nl.addr.del(link.index, a.cidr);
  if (!nl.addr.list({ family: fam, link: link.index }).some((a) => a.cidr === want))
    nl.addr.add(link.index, want);
  nl.route.replace({ dst: `${gw}/${hostBits}`, dev: link.index, table: eni.table, scope: RT_SCOPE_LINK });
  nl.route.replace({ dst: fam === 4 ? '0.0.0.0/0' : '::/0', gateway: gw, dev: link.index, table: eni.table });
  nl.route.delIfExists({
    dst: eni.subnetCidr,
    dev: link.index,
    table: RT_TABLE_MAIN,
    scope: RT_SCOPE_LINK,
    protocol: RTPROT_KERNEL,
  });
  if (!eni.isTrunk && !eni.ruleExists)
    nl.rule.ensure({
      family: fam,
      priority: ENI_RULE_PRIORITY,
      table: eni.table,
      src: `${eni.primaryIp}/${hostBits}`,
    });
  return link;
}

/**
 * The table of an ENI on network card `card` (docs/architecture.md#route-tables-and-rule-priorities): card 0 and
 * cards > 0 without a rule of their own use `fallback`; a card > 0 ENI whose primary address already has a rule
 * (set up by the node image, or by an older release) keeps that rule's table.
 */
export function eniTable(
  nl: Netlink,
  eni: { card: number; deviceNumber: number; primaryIp: string; maxEni: number; fallback: number },
): TableChoice {
  if (eni.card === 0) return { table: eni.fallback, ruleExists: false };
  const rules = nl.rule
    .list(familyOf(eni.primaryIp))
    .flatMap((r) => (r.src ? [{ from: r.src, table: r.table }] : []));
  return routeTableForEni({ ...eni, isPrimary: false }, rules, eni.maxEni);
}

/** Undo `setupEniNetwork` for an ENI being freed; the link itself goes away with the detach. */
export function teardownEniNetwork(nl: Netlink, eni: Pick<EniNetwork, 'primaryIp' | 'table'>): void {
  const fam = familyOf(eni.primaryIp);
  const src = `${eni.primaryIp}/${fam === 4 ? 32 : 128}`;
  for (const r of nl.rule.list(fam)) if (r.src === src) nl.rule.delIfExists(r);
  for (const r of nl.route.list(fam, eni.table))
    try {
      nl.route.del({ dst: r.dst, table: eni.table, ...(r.oif ? { dev: r.oif } : {}) });
    } catch (e) {
      if (!isNetlinkError(e, 'ESRCH') && !isNetlinkError(e, 'ENOENT')) throw e;
    }
}
