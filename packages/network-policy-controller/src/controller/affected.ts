// Which policies a Pod, Namespace or Service change can affect (README: "Triggers"). Deliberately a superset:
// the reconcile of an unaffected policy computes the same PEs and writes nothing, so over-approximating costs
// CPU only, never churn.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { ingressPeers } from '../resolve/wire.js';

export type PolicyKey = string; // namespace/name

export const policyKey = (np: V1NetworkPolicy): PolicyKey =>
  `${np.metadata?.namespace ?? ''}/${np.metadata?.name ?? ''}`;

const peers = (np: V1NetworkPolicy) => [
  ...(np.spec?.ingress ?? []).flatMap(ingressPeers),
  ...(np.spec?.egress ?? []).flatMap((r) => r.to ?? []),
];

const usesNamespaceSelector = (np: V1NetworkPolicy): boolean => peers(np).some((p) => p.namespaceSelector);

const hasEgressSelectorPeer = (np: V1NetworkPolicy): boolean =>
  (np.spec?.egress ?? []).some((r) => (r.to ?? []).some((p) => p.podSelector || p.namespaceSelector));

export type Change =
  { kind: 'pod'; namespace: string } | { kind: 'namespace' } | { kind: 'service'; namespace: string };

/** The keys of the policies to recompute after `change`. */
export function affectedPolicies(change: Change, policies: readonly V1NetworkPolicy[]): PolicyKey[] {
  const out: PolicyKey[] = [];
  for (const np of policies) {
    const ns = np.metadata?.namespace ?? '';
    let hit: boolean;
    switch (change.kind) {
      case 'pod':
        hit = ns === change.namespace || usesNamespaceSelector(np);
        break;
      case 'namespace':
        hit = usesNamespaceSelector(np);
        break;
      case 'service':
        hit = hasEgressSelectorPeer(np) && (ns === change.namespace || usesNamespaceSelector(np));
        break;
      default: {
        const never: never = change;
        throw new Error(`unknown change ${JSON.stringify(never)}`);
      }
    }
    if (hit) out.push(policyKey(np));
  }
  return out;
}
