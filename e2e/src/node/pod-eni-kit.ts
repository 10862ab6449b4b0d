// Shared by the security-groups-for-pods tests: the AddNetwork request kubelet's ADD turns into, and the branch
// ENI recorded in a pod's vpc.amazonaws.com/pod-eni annotation (as the stand-in holds it).
import type { AddNetworkRequest } from '@vpc-cni/shared/rpc';
import type { KubeApiSim } from '../kube/index.js';

export function addRequest(name: string, namespace: string, containerId = `c-${name}`): AddNetworkRequest {
  return {
    ContainerID: containerId,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    K8S_POD_NAME: name,
    K8S_POD_NAMESPACE: namespace,
    K8S_POD_INFRA_CONTAINER_ID: containerId,
    Netns: '',
    ClientVersion: '',
    RequiresMultiNICAttachment: false,
  };
}

export interface PodEniEntry {
  eniId: string;
  vlanId: number;
  ifAddress: string;
  privateIp: string;
}

/** The pod's pod-eni annotation, parsed; undefined when it has none. */
export function podEniOf(kube: KubeApiSim, namespace: string, name: string): PodEniEntry[] | undefined {
  const annotations = kube.api.store.get('/pods', namespace, name).metadata['annotations'] as
    Record<string, string> | undefined;
  const raw = annotations?.['vpc.amazonaws.com/pod-eni'];
  return raw === undefined ? undefined : (JSON.parse(raw) as PodEniEntry[]);
}
