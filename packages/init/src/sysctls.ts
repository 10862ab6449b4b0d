// The node sysctls init owns (docs/architecture.md#node-sysctls), as a pure plan, then applied in the current
// netns.
import { sysctlGet, sysctlSet } from '@vpc-cni/shared/netlink';

export interface SysctlStep {
  key: string;
  value: string;
  /** Skip silently when the file does not exist (tcp_early_demux on kernels without it). */
  ifExists: boolean;
}

export function sysctlPlan(o: {
  primaryIf: string;
  disableTcpEarlyDemux: boolean;
  enableIPv6: boolean;
  enableV6Egress: boolean;
}): SysctlStep[] {
  const steps: SysctlStep[] = [
    { key: `net/ipv4/conf/${o.primaryIf}/rp_filter`, value: '2', ifExists: false },
    { key: 'net/ipv4/tcp_early_demux', value: o.disableTcpEarlyDemux ? '0' : '1', ifExists: true },
  ];
  if (o.enableIPv6) steps.push({ key: 'net/ipv6/conf/all/disable_ipv6', value: '0', ifExists: false });
  if (o.enableIPv6 || o.enableV6Egress) {
    steps.push({ key: 'net/ipv6/conf/all/forwarding', value: '1', ifExists: false });
    steps.push({ key: `net/ipv6/conf/${o.primaryIf}/accept_ra`, value: '2', ifExists: false });
  }
  return steps;
}

export function applySysctls(
  steps: readonly SysctlStep[],
): { key: string; value: string; skipped: boolean }[] {
  return steps.map((s) => {
    if (s.ifExists) {
      try {
        sysctlGet(s.key);
      } catch {
        return { key: s.key, value: s.value, skipped: true };
      }
    }
    try {
      sysctlSet(s.key, s.value);
    } catch (e) {
      throw new Error(`sysctl ${s.key}=${s.value} failed: ${(e as Error).message}`);
    }
    return { key: s.key, value: s.value, skipped: false };
  });
}
