// PolicyEndpoint objects as written to the API (README: "Object metadata"): `generateName: <policy>-` (the agent
// recovers the policy name by cutting at the last '-'), the policy's namespace, one controller owner reference to
// the NetworkPolicy, no labels, and the change-time annotation on every write.
import type { V1NetworkPolicy, V1OwnerReference } from '@kubernetes/client-node';
import {
  CHANGE_TIME_ANNOTATION,
  PE_GROUP,
  PE_KIND,
  PE_VERSION,
  type PolicyEndpointSpec,
} from '@vpc-cni/shared/k8s';

export interface PolicyEndpointObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace: string;
    annotations: Record<string, string>;
    ownerReferences: V1OwnerReference[];
  };
  spec: PolicyEndpointSpec;
}

export function ownerReference(np: V1NetworkPolicy): V1OwnerReference {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    name: np.metadata?.name ?? '',
    uid: np.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** RFC 3339 UTC with nanoseconds, from a millisecond clock. */
export function changeTime(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** The body of a create call for a new PE of `np`. */
export function newPolicyEndpoint(
  np: V1NetworkPolicy,
  spec: PolicyEndpointSpec,
  nowMs: number,
): PolicyEndpointObject {
  return {
    apiVersion: `${PE_GROUP}/${PE_VERSION}`,
    kind: PE_KIND,
    metadata: {
      generateName: `${np.metadata?.name ?? ''}-`,
      namespace: np.metadata?.namespace ?? '',
      annotations: { [CHANGE_TIME_ANNOTATION]: changeTime(nowMs) },
      ownerReferences: [ownerReference(np)],
    },
    spec,
  };
}

/** The JSON merge patch that makes an existing PE carry `spec` (lists are replaced whole by a merge patch). */
export function updatePatch(spec: PolicyEndpointSpec, nowMs: number): Record<string, unknown> {
  return { metadata: { annotations: { [CHANGE_TIME_ANNOTATION]: changeTime(nowMs) } }, spec };
}
