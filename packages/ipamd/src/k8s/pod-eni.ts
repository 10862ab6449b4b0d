// Security groups for pods, compatible path (docs/architecture.md#security-groups-for-pods): what ipamd reads
// from a pod. A pod is a branch-ENI pod when its first container has a resource limit named
// vpc.amazonaws.com/pod-eni*; the resource controller then writes the branch ENI it attached for the pod into
// the vpc.amazonaws.com/pod-eni annotation.
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { type KubeApis, statusOf } from './client.js';

export const POD_ENI_ANNOTATION = 'vpc.amazonaws.com/pod-eni';
export const POD_ENI_RESOURCE = 'vpc.amazonaws.com/pod-eni';

/** One element of the annotation (ipamd uses element 0). */
export interface PodEniData {
  eniId: string;
  ifAddress: string;
  privateIp: string;
  ipv6Addr: string;
  vlanId: number;
  subnetCidr: string;
  subnetV6Cidr: string;
  associationId: string;
}

export class PodEniParseError extends Error {}

const FIELDS: Record<string, keyof PodEniData> = {
  eniid: 'eniId',
  ifaddress: 'ifAddress',
  privateip: 'privateIp',
  ipv6addr: 'ipv6Addr',
  vlanid: 'vlanId',
  subnetcidr: 'subnetCidr',
  subnetv6cidr: 'subnetV6Cidr',
  associationid: 'associationId',
};

/**
 * Parses the annotation. Keys match case-insensitively: the controller writes `vlanId`, upstream ipamd reads
 * `vlanID` through Go's case-insensitive JSON matching, so both spellings (and any other casing) are accepted.
 */
export function parsePodEniAnnotation(text: string): PodEniData[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PodEniParseError(`annotation ${POD_ENI_ANNOTATION} is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new PodEniParseError(`annotation ${POD_ENI_ANNOTATION} is not a JSON array`);
  return raw.map((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new PodEniParseError(`annotation ${POD_ENI_ANNOTATION}[${i}] is not an object`);
    const out: PodEniData = {
      eniId: '',
      ifAddress: '',
      privateIp: '',
      ipv6Addr: '',
      vlanId: 0,
      subnetCidr: '',
      subnetV6Cidr: '',
      associationId: '',
    };
    for (const [k, v] of Object.entries(item as Record<string, unknown>)) {
      const field = FIELDS[k.toLowerCase()];
      if (!field || v === null || v === undefined) continue;
      if (field === 'vlanId') {
        if (typeof v !== 'number' || !Number.isInteger(v))
          throw new PodEniParseError(`annotation ${POD_ENI_ANNOTATION}[${i}].vlanId is not an integer`);
        out.vlanId = v;
      } else {
        if (typeof v !== 'string')
          throw new PodEniParseError(`annotation ${POD_ENI_ANNOTATION}[${i}].${k} is not a string`);
        out[field] = v;
      }
    }
    return out;
  });
}

/** What the branch path needs to know about a pod. */
export interface PodView {
  uid: string;
  labels: Record<string, string>;
  serviceAccountName: string;
  /** The first container limits a vpc.amazonaws.com/pod-eni* resource. */
  wantsBranchEni: boolean;
  /** The raw vpc.amazonaws.com/pod-eni annotation, if the controller wrote it. */
  podEniAnnotation: string | undefined;
  /** Read from the watch cache (may lag the API by a moment), not from the API server. */
  cached?: true;
}

export interface PodLookup {
  /** undefined = the pod does not exist. `fresh`: read from the API server, not from a cache. */
  pod(namespace: string, name: string, opts?: { fresh?: boolean }): Promise<PodView | undefined>;
}

export function podView(pod: V1Pod): PodView {
  const limits = pod.spec?.containers[0]?.resources?.limits ?? {};
  return {
    uid: pod.metadata?.uid ?? '',
    labels: pod.metadata?.labels ?? {},
    serviceAccountName: pod.spec?.serviceAccountName ?? 'default',
    wantsBranchEni: Object.keys(limits).some((k) => k.startsWith(POD_ENI_RESOURCE)),
    podEniAnnotation: pod.metadata?.annotations?.[POD_ENI_ANNOTATION],
  };
}

/** Reads pods from the API server, a GET each (the fallback of the watch cache, and for tests). */
export class K8sPodLookup implements PodLookup {
  constructor(private readonly apis: KubeApis) {}

  async pod(namespace: string, name: string): Promise<PodView | undefined> {
    try {
      return podView(await this.apis.core.readNamespacedPod({ namespace, name }));
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }
}

/** Writes (or, with null, removes) the pod-eni annotation: a JSON merge patch of that one key. */
export async function setPodEniAnnotation(
  apis: KubeApis,
  namespace: string,
  name: string,
  value: string | null,
): Promise<void> {
  await apis.core.patchNamespacedPod(
    { namespace, name, body: { metadata: { annotations: { [POD_ENI_ANNOTATION]: value } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** A Warning event on the pod: where `kubectl describe pod` shows why its sandbox cannot start. */
export async function podWarning(
  apis: KubeApis,
  namespace: string,
  name: string,
  reason: string,
  message: string,
): Promise<void> {
  const now = new Date();
  await apis.core.createNamespacedEvent({
    namespace,
    body: {
      metadata: { generateName: `${name}.` },
      involvedObject: { kind: 'Pod', name, namespace, apiVersion: 'v1' },
      type: 'Warning',
      reason,
      message,
      source: { component: 'aws-node' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    },
  });
}
