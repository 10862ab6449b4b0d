// Applies the node-wide host networking in a network namespace: iptables (both families, each one atomic
// iptables-restore, nothing when already converged) and the policy rules of
// docs/architecture.md#host-networking via netlink.
import { execFileSync } from 'node:child_process';
import { type IptablesRunner, detectBackend, iptablesRunner, reconcile } from '@vpc-cni/shared/iptables';
import { Netlink } from '@vpc-cni/shared/netlink';
import { type HostNetSettings, desiredV4, desiredV6 } from './desired.js';

const MAIN = 254;
const LOCAL = 255;

export interface ApplyResult {
  /** iptables-restore scripts that were run ('' = that family was already converged). */
  v4: string;
  v6: string;
  /** Policy rules added or removed. */
  rulesChanged: number;
}

/** The fwmark rule, the external-service rules and the SGP-strict local rule, converged. */
export function applyHostRules(nl: Netlink, s: HostNetSettings): number {
  const family = s.ipv6 ? 6 : 4;
  let changed = 0;
  const fwmark = { family, priority: 1024, table: MAIN, fwmark: s.connmark, fwmask: s.connmark } as const;
  const wantFwmark = s.nodePortSupport || !s.externalSnat;
  const hasFwmark = nl.rule
    .list(family)
    .some((r) => r.priority === 1024 && r.fwmark === s.connmark && r.table === MAIN);
  if (hasFwmark && !wantFwmark) changed += nl.rule.delAll(fwmark);
  if (!hasFwmark && wantFwmark && nl.rule.ensure(fwmark)) changed++;

  const current = nl.rule.list(family).filter((r) => r.priority === 1535 && r.table === MAIN);
  const want = new Set(s.ipv6 ? [] : s.externalServiceCidrs);
  for (const r of current)
    if (!r.dst || !want.has(r.dst))
      changed += nl.rule.delAll({ family, priority: 1535, table: MAIN, dst: r.dst });
  for (const cidr of want)
    if (
      !current.some((r) => r.dst === cidr) &&
      nl.rule.ensure({ family, priority: 1535, table: MAIN, dst: cidr })
    )
      changed++;

  if (s.podEniStrict) {
    // Strict security groups for pods: the local table is consulted after the VLAN rules (priority 10).
    if (nl.rule.ensure({ family, priority: 20, table: LOCAL })) changed++;
    if (nl.rule.delIfExists({ family, priority: 0, table: LOCAL })) changed++;
  } else if (nl.rule.list(family).some((r) => r.priority === 20 && r.table === LOCAL)) {
    // Strict mode was left: the local rule goes back to priority 0 before the moved one goes.
    if (nl.rule.ensure({ family, priority: 0, table: LOCAL })) changed++;
    if (nl.rule.delIfExists({ family, priority: 20, table: LOCAL })) changed++;
  }
  return changed;
}

/** Removes a native nftables connmark table an upstream ipamd may have left (we use the iptables form). */
function dropUpstreamNftTable(netnsPath?: string): void {
  const argv = ['nft', 'delete', 'table', 'ip', 'aws-cni'];
  try {
    execFileSync(netnsPath ? 'nsenter' : 'nft', netnsPath ? [`--net=${netnsPath}`, ...argv] : argv.slice(1), {
      stdio: 'ignore',
    });
  } catch {
    // absent, or no nf_tables: nothing to remove
  }
}

export function applyHostNetwork(
  s: HostNetSettings,
  o: { netnsPath?: string; runner?: IptablesRunner } = {},
): ApplyResult {
  const runner = o.runner ?? iptablesRunner(o.netnsPath, detectBackend(o.netnsPath));
  const v4 = reconcile(runner, 4, desiredV4(s));
  const v6 = reconcile(runner, 6, desiredV6(s));
  dropUpstreamNftTable(o.netnsPath);
  const nl = Netlink.open(o.netnsPath);
  try {
    return { v4, v6, rulesChanged: applyHostRules(nl, s) };
  } finally {
    nl.close();
  }
}
