// Kubernetes access for ipamd (docs/architecture.md#kubernetes-api): kubeconfig from KUBECONFIG, else
// in-cluster; CLUSTER_ENDPOINT replaces the API server address (as upstream, for clusters where the service
// IP is not yet routable at node start).
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

export interface KubeApis {
  core: CoreV1Api;
  custom: CustomObjectsApi;
  /** For watches. */
  kc: KubeConfig;
}

export function kubeApis(
  env: Readonly<Record<string, string | undefined>>,
  clusterEndpoint?: string,
): KubeApis {
  const kc = new KubeConfig();
  if (env['KUBECONFIG']) kc.loadFromFile(env['KUBECONFIG']);
  else kc.loadFromCluster();
  if (clusterEndpoint) {
    const current = kc.getCurrentCluster();
    if (current)
      kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, server: clusterEndpoint } : c));
  }
  return { core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi), kc };
}

/** HTTP status of a client-node error (ApiException carries `code`). */
export const statusOf = (e: unknown): number | undefined =>
  typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'number'
    ? (e as { code: number }).code
    : undefined;
