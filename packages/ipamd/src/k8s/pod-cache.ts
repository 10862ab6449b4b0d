// The pods of this node, from a watch (fieldSelector spec.nodeName): every AddNetwork of a node with security
// groups for pods asks "is this a branch pod?", and this answers it without a GET. A pod not (yet) in the cache,
// or any read while the watch is down, goes to the API server. Deletions are reported, so a branch ENI can go
// with its pod even when no CNI DEL came.
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from '@vpc-cni/shared/logging';
import type { KubeApis } from './client.js';
import { K8sPodLookup, podView, type PodLookup, type PodView } from './pod-eni.js';
import { WatchCache } from './watch-cache.js';

export class K8sPodCache implements PodLookup {
  private readonly cache: WatchCache<V1Pod>;
  private readonly api: K8sPodLookup;

  constructor(apis: KubeApis, node: string, logger: Logger, retryMs?: { first: number; max: number }) {
    const fieldSelector = `spec.nodeName=${node}`;
    this.api = new K8sPodLookup(apis);
    this.cache = new WatchCache<V1Pod>({
      kc: apis.kc,
      path: '/api/v1/pods',
      list: () => apis.core.listPodForAllNamespaces({ fieldSelector }),
      fieldSelector,
      what: `pods on ${node}`,
      logger,
      ...(retryMs ? { retryMs } : {}),
    });
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }

  get healthy(): boolean {
    return this.cache.healthy;
  }

  async pod(namespace: string, name: string, opts: { fresh?: boolean } = {}): Promise<PodView | undefined> {
    if (!opts.fresh && this.cache.healthy) {
      const hit = this.cache.get(name, namespace);
      if (hit) return { ...podView(hit), cached: true };
    }
    return this.api.pod(namespace, name);
  }

  /** Called with each pod deleted from this node (or gone from a re-list). */
  onDelete(cb: (namespace: string, name: string, pod: PodView) => void): void {
    this.cache.onDelete((p) => cb(p.metadata?.namespace ?? '', p.metadata?.name ?? '', podView(p)));
  }
}
