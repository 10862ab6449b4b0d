// Names derived from the pod identity, identical to upstream so DEL works across an image swap
// (and Calico-compatible host veth names).
import { sha1Hex } from './sha1.js';

export const DEFAULT_VETH_PREFIX = 'eni';
export const SGP_VETH_PREFIX = 'vlan';

/** The 11 hex chars of sha1("<namespace>.<pod>[.<index>]") used by every derived name. */
export function podHash(namespace: string, podName: string, index = 0): string {
  const pod = index === 0 ? podName : `${podName}.${index}`;
  return sha1Hex(`${namespace}.${pod}`).slice(0, 11);
}

/** Host-side veth name: prefix (≤ 4 chars) + hash, ≤ 15 chars. */
export function hostVethName(prefix: string, namespace: string, podName: string, index = 0): string {
  return prefix + podHash(namespace, podName, index);
}

/** The bookkeeping "dummy" interface name in results (never a real link). */
export function dummyIfName(namespace: string, podName: string): string {
  return `dummy${podHash(namespace, podName)}`;
}

/** Container interface name for attachment i: CNI_IFNAME for 0, mNicIf<i> after. */
export function containerIfName(ifName: string, index: number): string {
  return index === 0 ? ifName : `mNicIf${index}`;
}

/** The VLAN link for a branch-ENI pod. */
export function vlanLinkName(vlanId: number): string {
  return `vlan.eth.${vlanId}`;
}
