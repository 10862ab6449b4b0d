// SecurityGroupPolicy (vpcresources.k8s.aws/v1beta1) matching for self-managed branch ENIs (decision §11.1.11):
// which security groups a pod gets. A policy applies to pods of its namespace when every selector it has
// matches: podSelector against the pod's labels, serviceAccountSelector against the labels of the pod's service
// account (an empty selector matches everything, as in Kubernetes). The groups of all matching policies are
// combined, as the VPC resource controller does.
import { type KubeApis, statusOf } from './client.js';

export const SGP = {
  group: 'vpcresources.k8s.aws',
  version: 'v1beta1',
  plural: 'securitygrouppolicies',
} as const;

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** Kubernetes label-selector semantics (In, NotIn, Exists, DoesNotExist); unknown operators match nothing. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value ?? '')
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value ?? '')
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

interface SgpObject {
  metadata?: { name?: string };
  spec?: {
    podSelector?: LabelSelector;
    serviceAccountSelector?: LabelSelector;
    securityGroups?: { groupIds?: string[] };
  };
}

export interface PodIdentity {
  namespace: string;
  labels: Record<string, string>;
  serviceAccountName: string;
}

export interface SgpMatch {
  /** Names of the matching policies (for logs and events). */
  policies: string[];
  /** Their security groups, deduplicated, in policy order. */
  groups: string[];
}

export interface SgpSource {
  match(pod: PodIdentity): Promise<SgpMatch>;
}

export class K8sSgpSource implements SgpSource {
  constructor(private readonly apis: KubeApis) {}

  async match(pod: PodIdentity): Promise<SgpMatch> {
    const list = (await this.apis.custom.listNamespacedCustomObject({
      ...SGP,
      namespace: pod.namespace,
    })) as { items?: SgpObject[] };
    let saLabels: Record<string, string> | undefined;
    const serviceAccountLabels = async () => {
      if (saLabels) return saLabels;
      try {
        const sa = await this.apis.core.readNamespacedServiceAccount({
          namespace: pod.namespace,
          name: pod.serviceAccountName || 'default',
        });
        saLabels = sa.metadata?.labels ?? {};
      } catch (e) {
        if (statusOf(e) !== 404) throw e;
        saLabels = {};
      }
      return saLabels;
    };
    const out: SgpMatch = { policies: [], groups: [] };
    for (const p of list.items ?? []) {
      const spec = p.spec ?? {};
      if (!spec.podSelector && !spec.serviceAccountSelector) continue;
      if (spec.podSelector && !selectorMatches(spec.podSelector, pod.labels)) continue;
      if (
        spec.serviceAccountSelector &&
        !selectorMatches(spec.serviceAccountSelector, await serviceAccountLabels())
      )
        continue;
      out.policies.push(p.metadata?.name ?? '');
      for (const g of spec.securityGroups?.groupIds ?? []) if (!out.groups.includes(g)) out.groups.push(g);
    }
    return out;
  }
}
