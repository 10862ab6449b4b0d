// The cluster state the resolver reads: plain @kubernetes/client-node objects indexed by namespace.
import type { V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { nameOf, namespaceOf } from './pods.js';

export interface ClusterView {
  /** Pods by namespace, sorted by name. */
  podsByNamespace: ReadonlyMap<string, readonly V1Pod[]>;
  /** Namespaces sorted by name. */
  namespaces: readonly V1Namespace[];
  /** Services by namespace, sorted by name. */
  servicesByNamespace: ReadonlyMap<string, readonly V1Service[]>;
}

function byNamespace<T extends { metadata?: { name?: string; namespace?: string } }>(
  items: readonly T[],
): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const ns = namespaceOf(it);
    let l = m.get(ns);
    if (!l) m.set(ns, (l = []));
    l.push(it);
  }
  for (const l of m.values()) l.sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
  return m;
}

export function clusterView(input: {
  pods: readonly V1Pod[];
  namespaces: readonly V1Namespace[];
  services: readonly V1Service[];
}): ClusterView {
  return {
    podsByNamespace: byNamespace(input.pods),
    namespaces: [...input.namespaces].sort((a, b) => nameOf(a).localeCompare(nameOf(b))),
    servicesByNamespace: byNamespace(input.services),
  };
}
