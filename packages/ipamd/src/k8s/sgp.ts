// SecurityGroupPolicy (vpcresources.k8s.aws/v1beta1) matching for self-managed branch ENIs
// (docs/architecture.md#decisions, 12): which security groups a pod gets. A policy applies to pods of its
// namespace when every selector it has matches: podSelector against the pod's labels, serviceAccountSelector
// against the labels of the pod's service account (an empty selector matches everything, as in Kubernetes).
// The groups of all matching policies are combined, as the VPC resource controller does.
import type { Logger } from '@vpc-cni/shared/logging';
import { type KubeApis, statusOf } from './client.js';
import { WatchCache } from './watch-cache.js';

export const SGP = {
  group: 'vpcresources.k8s.aws',
  version: 'v1beta1',
  plural: 'securitygrouppolicies',
} as const;

export type { LabelSelector } from '@vpc-cni/shared/k8s';
export { selectorMatches } from '@vpc-cni/shared/k8s';
import type { LabelSelector } from '@vpc-cni/shared/k8s';
import { selectorMatches } from '@vpc-cni/shared/k8s';

interface SgpObject {
  metadata?: { name?: string; namespace?: string };
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

/** Policies from the API: a list per match, or (watched) from a cache of all policies, kept by a watch. */
export class K8sSgpSource implements SgpSource {
  private readonly cache: WatchCache<SgpObject> | undefined;

  constructor(
    private readonly apis: KubeApis,
    watch?: { logger: Logger; retryMs?: { first: number; max: number } },
  ) {
    this.cache = watch
      ? new WatchCache<SgpObject>({
          kc: apis.kc,
          path: `/apis/${SGP.group}/${SGP.version}/${SGP.plural}`,
          list: async () => (await apis.custom.listClusterCustomObject({ ...SGP })) as { items: SgpObject[] },
          what: 'SecurityGroupPolicies',
          logger: watch.logger,
          ...(watch.retryMs ? { retryMs: watch.retryMs } : {}),
        })
      : undefined;
  }

  start(): Promise<void> {
    return this.cache?.start() ?? Promise.resolve();
  }

  stop(): Promise<void> {
    return this.cache?.stop() ?? Promise.resolve();
  }

  private async policies(namespace: string): Promise<readonly SgpObject[]> {
    if (this.cache?.healthy) return this.cache.list(namespace);
    const list = (await this.apis.custom.listNamespacedCustomObject({ ...SGP, namespace })) as {
      items?: SgpObject[];
    };
    return list.items ?? [];
  }

  async match(pod: PodIdentity): Promise<SgpMatch> {
    const items = await this.policies(pod.namespace);
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
    for (const p of items) {
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
