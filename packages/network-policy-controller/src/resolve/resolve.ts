// A NetworkPolicy + the cluster → what its PolicyEndpoints must say, as one desired set (README: "Resolution").
// Pure and deterministic: lists come out de-duplicated and sorted, so equal inputs give equal outputs.
import type {
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1Pod,
} from '@kubernetes/client-node';
import {
  type EndpointInfo,
  type LabelSelector,
  type PodEndpoint,
  type PolicyIsolation,
  selectorMatches,
} from '@vpc-cni/shared/k8s';
import type { ClusterView } from './cluster.js';
import { mergeEntries } from './entries.js';
import { isReady, labelsOf, nameOf, namespaceOf, podIP } from './pods.js';
import { literalPorts, resolvePorts, rulePorts } from './ports.js';
import { serviceEntries } from './services.js';
import { ingressPeers } from './wire.js';

export interface DesiredPolicy {
  policyRef: { name: string; namespace: string };
  podSelector: LabelSelector;
  podIsolation: PolicyIsolation[];
  pods: PodEndpoint[];
  ingress: EndpointInfo[];
  egress: EndpointInfo[];
}

const ANY = ['0.0.0.0/0', '::/0'];

/** `spec.policyTypes`, defaulted as the API server does when absent (Ingress; Egress if there are egress rules). */
export function policyIsolation(np: V1NetworkPolicy): PolicyIsolation[] {
  const types = np.spec?.policyTypes;
  if (types && types.length > 0)
    return types.filter((t): t is PolicyIsolation => t === 'Ingress' || t === 'Egress');
  return (np.spec?.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Ready pods of the policy's namespace its podSelector picks, host-network pods excluded. */
export function selectedPods(np: V1NetworkPolicy, cluster: ClusterView): V1Pod[] {
  const sel = np.spec?.podSelector ?? {};
  return (cluster.podsByNamespace.get(namespaceOf(np)) ?? []).filter(
    (p) => !p.spec?.hostNetwork && isReady(p) && selectorMatches(sel, labelsOf(p)),
  );
}

/** The namespaces a selector peer covers: the policy's own, or those its namespaceSelector matches. */
function peerNamespaces(peer: V1NetworkPolicyPeer, policyNs: string, cluster: ClusterView): string[] {
  if (!peer.namespaceSelector) return [policyNs];
  const sel = peer.namespaceSelector;
  return cluster.namespaces.filter((n) => selectorMatches(sel, labelsOf(n))).map(nameOf);
}

/** Ready pods a selector peer picks in one namespace (host-network peers included: they count by node IP). */
function peerPods(peer: V1NetworkPolicyPeer, ns: string, cluster: ClusterView): V1Pod[] {
  const sel = peer.podSelector ?? {};
  return (cluster.podsByNamespace.get(ns) ?? []).filter(
    (p) => isReady(p) && selectorMatches(sel, labelsOf(p)),
  );
}

function ingressEntries(
  np: V1NetworkPolicy,
  cluster: ClusterView,
  selected: readonly V1Pod[],
): EndpointInfo[] {
  const out: EndpointInfo[] = [];
  for (const rule of np.spec?.ingress ?? []) {
    const listed = rule.ports ?? [];
    const ports = rulePorts(listed, resolvePorts(listed, selected));
    if (!ports) continue;
    const from = ingressPeers(rule);
    if (from.length === 0) {
      for (const cidr of ANY) out.push({ cidr, ports });
      continue;
    }
    for (const peer of from) {
      if (peer.ipBlock) {
        out.push({ cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [], ports });
        continue;
      }
      for (const ns of peerNamespaces(peer, namespaceOf(np), cluster))
        for (const pod of peerPods(peer, ns, cluster)) out.push({ cidr: podIP(pod), ports });
    }
  }
  return out;
}

function egressEntries(np: V1NetworkPolicy, cluster: ClusterView): EndpointInfo[] {
  const out: EndpointInfo[] = [];
  for (const rule of np.spec?.egress ?? []) {
    const listed: V1NetworkPolicyPort[] = rule.ports ?? [];
    const to = rule.to ?? [];
    if (to.length === 0) {
      const ports = rulePorts(listed, literalPorts(listed));
      if (ports) for (const cidr of ANY) out.push({ cidr, ports });
      continue;
    }
    for (const peer of to) {
      if (peer.ipBlock) {
        const ports = rulePorts(listed, literalPorts(listed));
        if (ports) out.push({ cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [], ports });
        continue;
      }
      for (const ns of peerNamespaces(peer, namespaceOf(np), cluster)) {
        for (const pod of peerPods(peer, ns, cluster)) {
          const ports = rulePorts(listed, resolvePorts(listed, [pod]));
          if (ports) out.push({ cidr: podIP(pod), ports });
        }
        const nsPods = cluster.podsByNamespace.get(ns) ?? [];
        out.push(
          ...serviceEntries(peer.podSelector, cluster.servicesByNamespace.get(ns) ?? [], listed, nsPods),
        );
      }
    }
  }
  return out;
}

/** The desired content of one NetworkPolicy's PolicyEndpoints. */
export function resolvePolicy(np: V1NetworkPolicy, cluster: ClusterView): DesiredPolicy {
  const selected = selectedPods(np, cluster);
  const pods = selected
    .map((p) => ({
      hostIP: p.status?.hostIP ?? '',
      podIP: podIP(p) ?? '',
      name: nameOf(p),
      namespace: namespaceOf(p),
    }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return {
    policyRef: { name: nameOf(np), namespace: namespaceOf(np) },
    podSelector: (np.spec?.podSelector ?? {}) as LabelSelector,
    podIsolation: policyIsolation(np),
    pods,
    ingress: mergeEntries(ingressEntries(np, cluster, selected)),
    egress: mergeEntries(egressEntries(np, cluster)),
  };
}
