// CNINode feature signalling (docs/architecture.md#security-groups-for-pods): ipamd tells the VPC resource
// controller what this node supports by adding {name, value} to spec.features of the CNINode named after the
// node. The controller creates the object; ipamd only reads and patches it (JSON merge patch carrying
// resourceVersion, so a concurrent change conflicts instead of being overwritten).
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { type KubeApis, statusOf } from './client.js';

export const CNINODE = { group: 'vpcresources.k8s.aws', version: 'v1alpha1', plural: 'cninodes' } as const;

export interface CniNodeFeature {
  name: string;
  value?: string;
}

interface CniNodeObject {
  metadata?: { resourceVersion?: string };
  spec?: { features?: CniNodeFeature[] };
}

/** What happened: the feature was added, was already there, or the CNINode does not exist (yet). */
export type FeatureOutcome = 'added' | 'present' | 'no-cninode';

export async function addCniNodeFeature(
  apis: KubeApis,
  nodeName: string,
  feature: CniNodeFeature,
): Promise<FeatureOutcome> {
  let obj: CniNodeObject;
  try {
    obj = (await apis.custom.getClusterCustomObject({ ...CNINODE, name: nodeName })) as CniNodeObject;
  } catch (e) {
    if (statusOf(e) === 404) return 'no-cninode';
    throw e;
  }
  const value = feature.value ?? '';
  const features = obj.spec?.features ?? [];
  if (features.some((f) => f.name === feature.name && (f.value ?? '') === value)) return 'present';
  const next = [...features.filter((f) => f.name !== feature.name), value ? feature : { name: feature.name }];
  await apis.custom.patchClusterCustomObject(
    {
      ...CNINODE,
      name: nodeName,
      body: { metadata: { resourceVersion: obj.metadata?.resourceVersion }, spec: { features: next } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  return 'added';
}
