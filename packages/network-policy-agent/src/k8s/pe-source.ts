// Watches every PolicyEndpoint of the cluster (list+watch with restart and backoff: WatchCache) and hands parsed
// objects to the reconciler. A malformed PE is refused whole (logged, Warning event) and, if it replaced a good
// version, that version is dropped so no stale rule outlives it.
import type { KubernetesObject } from '@kubernetes/client-node';
import { WatchCache } from '@vpc-cni/shared/k8s';
import type { Logger } from '@vpc-cni/shared/logging';
import { traceEnforce } from '../agent/trace.js';
import type { AgentKube } from './client.js';
import {
  PE_GROUP,
  PE_PLURAL,
  PE_VERSION,
  type PolicyEndpoint,
  parsePolicyEndpoint,
} from './policy-endpoint.js';

export interface PeSink {
  upsert(pe: PolicyEndpoint): void;
  remove(namespace: string, name: string): void;
  /** A PE the agent cannot use, with the reason. */
  refused(namespace: string, name: string, reason: string): void;
}

export class PolicyEndpointSource {
  private readonly cache: WatchCache<KubernetesObject>;

  constructor(kube: AgentKube, logger: Logger, sink: PeSink) {
    this.cache = new WatchCache<KubernetesObject>({
      kc: kube.kc,
      path: `/apis/${PE_GROUP}/${PE_VERSION}/${PE_PLURAL}`,
      list: async () =>
        (await kube.custom.listClusterCustomObject({
          group: PE_GROUP,
          version: PE_VERSION,
          plural: PE_PLURAL,
        })) as { items: KubernetesObject[]; metadata?: { resourceVersion?: string } },
      what: 'policyendpoints',
      logger,
    });
    const apply = (obj: KubernetesObject) => {
      traceEnforce('pe-received', { pe: `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}` });
      const pe = parsePolicyEndpoint(obj);
      if ('error' in pe) {
        const ns = obj.metadata?.namespace ?? '';
        const name = obj.metadata?.name ?? '';
        sink.remove(ns, name);
        sink.refused(ns, name, pe.error);
      } else sink.upsert(pe);
    };
    this.cache.on('add', apply);
    this.cache.on('update', apply);
    this.cache.on('delete', (obj) => {
      traceEnforce('pe-received', { pe: `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}` });
      sink.remove(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
    });
  }

  /** Lists (every PE arrives as an add) and starts watching. */
  start(): Promise<void> {
    return this.cache.start();
  }

  get healthy(): boolean {
    return this.cache.healthy;
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }
}
