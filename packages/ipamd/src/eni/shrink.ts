// Giving addresses back (docs/architecture.md#warm-pool, "Giving back"): take CIDRs with no assigned address
// (cooling does not protect them here), at most `over`, remove them from the datastore first (so no pod can
// get one meanwhile), then unassign them in EC2. Each freed CIDR is remembered so a lagging IMDS cannot make
// the reconcile re-add it.
import { type EC2Client, UnassignPrivateIpAddressesCommand } from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';
import type { Datastore } from '../store/index.js';
import { type CallObserver, ec2Call } from './ec2-call.js';

/** CIDR text ("10.0.1.7/32", "10.0.2.16/28") → when it was given back (ms). */
export type FreedCache = Map<string, number>;

export async function decreasePool(
  ec2: EC2Client,
  ds: Datastore,
  over: number,
  freed: FreedCache,
  now: number,
  o: {
    logger: Logger;
    onCall?: CallObserver | undefined;
    /** An UnassignPrivateIpAddresses call failed (the addresses stay on the ENI until reconcile re-adds them). */
    onUnassignFailed?: () => void;
  },
): Promise<number> {
  let removed = 0;
  for (const eni of ds.eniList()) {
    if (over - removed <= 0) break;
    if (eni.excludedForPods || eni.isTrunk) continue;
    const free = [...eni.cidrs.values()].filter((c) => ![...c.addresses.values()].some((a) => a.key));
    const ips: string[] = [];
    const prefixes: string[] = [];
    for (const c of free.slice(0, over - removed)) {
      try {
        ds.delCidr(eni.id, c.text); // not forced: skipped if a pod got it meanwhile
      } catch {
        continue;
      }
      freed.set(c.text, now);
      (c.isPrefix ? prefixes : ips).push(c.isPrefix ? c.text : c.text.replace(/\/\d+$/, ''));
    }
    removed += ips.length + prefixes.length;
    const unassign = async (what: Record<string, string[]>) => {
      await ec2Call(
        'UnassignPrivateIpAddresses',
        () => ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eni.id, ...what })),
        o,
      ).catch((e: unknown) => {
        o.onUnassignFailed?.();
        o.logger.warn({ eni: eni.id, ...what, err: e }, 'unassign failed');
      });
    };
    if (prefixes.length) await unassign({ Ipv4Prefixes: prefixes });
    if (ips.length) await unassign({ PrivateIpAddresses: ips });
    if (ips.length || prefixes.length)
      o.logger.info(
        { eni: eni.id, ips: ips.length, prefixes: prefixes.length },
        'gave addresses back to EC2',
      );
  }
  return removed;
}
