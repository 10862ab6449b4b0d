// This node's ENIConfig (docs/architecture.md#custom-networking): the name comes from the node label
// vpc.amazonaws.com/externalEniConfig, else the annotation named by ENI_CONFIG_ANNOTATION_DEF, else the label
// named by ENI_CONFIG_LABEL_DEF, else "default". Read through a short cache (new ENIs are rare; a changed
// ENIConfig affects only ENIs created after it). A missing ENIConfig is reported once per name as a Warning
// event on the node and returned without a subnet, so the pool refuses to grow instead of using another
// subnet.
import type { Logger } from '@vpc-cni/shared/logging';
import type { EniConfigSource, EniConfigView } from '../eni/index.js';
import { type KubeApis, statusOf } from './client.js';

export const EXTERNAL_LABEL = 'vpc.amazonaws.com/externalEniConfig';

export interface NodeMeta {
  labels?: Record<string, string> | undefined;
  annotations?: Record<string, string> | undefined;
}

export function eniConfigName(node: NodeMeta, annotationDef: string, labelDef: string): string {
  return (
    node.labels?.[EXTERNAL_LABEL] || node.annotations?.[annotationDef] || node.labels?.[labelDef] || 'default'
  );
}

interface EniConfigObject {
  spec?: { subnet?: string; securityGroups?: string[] };
}

export class K8sEniConfigSource implements EniConfigSource {
  private cached: { at: number; view: EniConfigView } | undefined;
  private readonly reported = new Set<string>();

  constructor(
    private readonly apis: KubeApis,
    private readonly o: {
      nodeName: string;
      annotationDef: string;
      labelDef: string;
      logger: Logger;
      ttlMs?: number;
      now?: () => number;
    },
  ) {}

  /** The name of this node's ENIConfig (the Node only; the ENIConfig itself is not read). */
  async nodeConfigName(): Promise<string> {
    const node = await this.apis.core.readNode({ name: this.o.nodeName });
    return eniConfigName(node.metadata ?? {}, this.o.annotationDef, this.o.labelDef);
  }

  async current(): Promise<EniConfigView> {
    const now = (this.o.now ?? Date.now)();
    if (this.cached && now - this.cached.at < (this.o.ttlMs ?? 5_000)) return this.cached.view;
    const node = await this.apis.core.readNode({ name: this.o.nodeName });
    const name = eniConfigName(node.metadata ?? {}, this.o.annotationDef, this.o.labelDef);
    let view: EniConfigView;
    try {
      const obj = (await this.apis.custom.getClusterCustomObject({
        group: 'crd.k8s.amazonaws.com',
        version: 'v1alpha1',
        plural: 'eniconfigs',
        name,
      })) as EniConfigObject;
      view = { name, subnet: obj.spec?.subnet || undefined, securityGroups: obj.spec?.securityGroups ?? [] };
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
      view = { name, subnet: undefined, securityGroups: [] };
    }
    if (!view.subnet) await this.reportMissing(name);
    else this.reported.delete(name);
    this.cached = { at: now, view };
    return view;
  }

  private async reportMissing(name: string): Promise<void> {
    if (this.reported.has(name)) return;
    this.reported.add(name);
    const message = `ENIConfig ${name} not found (or has no subnet): custom networking cannot create ENIs for this node`;
    this.o.logger.error({ eniConfig: name, node: this.o.nodeName }, message);
    await this.apis.core
      .createNamespacedEvent({
        namespace: 'default',
        body: {
          metadata: { generateName: `${this.o.nodeName}.eniconfig.` },
          involvedObject: { kind: 'Node', name: this.o.nodeName, apiVersion: 'v1' },
          type: 'Warning',
          reason: 'EniConfigNotFound',
          message,
          source: { component: 'aws-node' },
          firstTimestamp: new Date(),
          lastTimestamp: new Date(),
          count: 1,
        },
      })
      .catch((e: unknown) => this.o.logger.warn({ err: e }, 'could not record the ENIConfig event'));
  }
}
