// Which attached ENIs ipamd may use for pods and free (see the package README, "ENIs ipamd leaves alone"):
// not those tagged node.k8s.amazonaws.com/no_manage=true, not those on another network card, not EFA-only ones, and, with
// MANAGE_UNTAGGED_ENI=false, not a secondary ENI that lacks the instance tag ipamd puts on the ENIs it creates.
import type { NetworkInterface } from '@aws-sdk/client-ec2';

export const NO_MANAGE_TAG = 'node.k8s.amazonaws.com/no_manage';
export const INSTANCE_TAG = 'node.k8s.amazonaws.com/instance_id';

export interface ManagedEniRules {
  primaryEniId: string;
  /** MANAGE_UNTAGGED_ENI (default true). */
  manageUntagged: boolean;
  /** The network card whose ENIs these rules select (default 0; docs/architecture.md#network-cards). */
  card?: number;
}

/** Why an ENI is left alone, or undefined when ipamd manages it. */
export function unmanagedReason(n: NetworkInterface, r: ManagedEniRules): string | undefined {
  if (n.TagSet?.some((t) => t.Key === NO_MANAGE_TAG && t.Value === 'true')) return 'tagged no_manage';
  if ((n.Attachment?.NetworkCardIndex ?? 0) !== (r.card ?? 0)) return 'on another network card';
  if (n.InterfaceType === 'efa-only') return 'an EFA-only interface (no IP address)';
  if (
    !r.manageUntagged &&
    n.NetworkInterfaceId !== r.primaryEniId &&
    !n.TagSet?.some((t) => t.Key === INSTANCE_TAG)
  )
    return 'untagged and MANAGE_UNTAGGED_ENI=false';
  return undefined;
}

export const isManagedEni = (n: NetworkInterface, r: ManagedEniRules): boolean =>
  unmanagedReason(n, r) === undefined;
