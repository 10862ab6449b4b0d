// Stored PolicyEndpoints → the planner's view (name + spec), and which of them belong to a policy: owned by its
// UID (so a NetworkPolicy and another kind with the same name never share PEs), or, without an owner reference,
// naming it in spec.policyRef.
import type { KubernetesObject, V1NetworkPolicy } from '@kubernetes/client-node';
import { type PolicyEndpointSpec, policyEndpointSchema } from '@vpc-cni/shared/k8s';
import type { ExistingEndpoint } from '../resolve/index.js';

interface Owned {
  metadata?: { ownerReferences?: { uid?: string; kind?: string }[] };
}

export function storedEndpoint(obj: KubernetesObject): ExistingEndpoint | undefined {
  const r = policyEndpointSchema.safeParse(obj);
  if (!r.success) return undefined;
  const s = r.data.spec;
  const raw = (obj as { spec?: { podSelector?: PolicyEndpointSpec['podSelector'] } }).spec?.podSelector;
  return {
    name: r.data.metadata.name,
    spec: {
      policyRef: s.policyRef,
      ...(raw ? { podSelector: raw } : {}),
      podIsolation: s.podIsolation ?? [],
      podSelectorEndpoints: s.podSelectorEndpoints ?? [],
      ingress: s.ingress ?? [],
      egress: s.egress ?? [],
    },
  };
}

/** Does the stored PE belong to the policy `namespace/name` (with `uid`, when the policy still exists)? */
export function belongsTo(obj: KubernetesObject, namespace: string, name: string, uid?: string): boolean {
  if (obj.metadata?.namespace !== namespace) return false;
  const owners = (obj as Owned).metadata?.ownerReferences ?? [];
  const npOwner = owners.find((o) => o.kind === 'NetworkPolicy');
  if (npOwner && uid) return npOwner.uid === uid;
  if (owners.length > 0 && !npOwner) return false;
  return (obj as { spec?: { policyRef?: { name?: string } } }).spec?.policyRef?.name === name;
}

export const isDeleting = (np: V1NetworkPolicy): boolean => !!np.metadata?.deletionTimestamp;
