// The labels of this node's pods, from a watch (fieldSelector spec.nodeName, as ipamd's pod cache), for strict
// mode's held directions (README "Strict mode"): the reconciler asks for a pod's labels, and is told when they
// change or a pod appears. Only started in strict mode. RBAC: pods get/list/watch (the aws-node role has them).
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { WatchCache } from '@vpc-cni/shared/k8s';
import type { Logger } from '@vpc-cni/shared/logging';
import type { AgentKube } from './client.js';

export class PodLabelSource {
  private readonly cache: WatchCache<V1Pod>;

  constructor(
    kube: AgentKube,
    node: string,
    logger: Logger,
    onChange: (namespace: string, name: string) => void,
  ) {
    const fieldSelector = `spec.nodeName=${node}`;
    this.cache = new WatchCache<V1Pod>({
      kc: kube.kc,
      path: '/api/v1/pods',
      list: () => kube.core.listPodForAllNamespaces({ fieldSelector }),
      fieldSelector,
      what: `pods on ${node}`,
      logger,
    });
    const changed = (p: KubernetesObject) => onChange(p.metadata?.namespace ?? '', p.metadata?.name ?? '');
    this.cache.on('add', changed);
    this.cache.on('update', changed);
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }

  /** The pod's labels ({} when it has none), or undefined while the pod is not in the cache. */
  labels(namespace: string, name: string): Readonly<Record<string, string>> | undefined {
    const p = this.cache.get(name, namespace);
    return p ? (p.metadata?.labels ?? {}) : undefined;
  }
}
