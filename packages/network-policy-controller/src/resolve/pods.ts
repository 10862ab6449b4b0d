// Which pods count and with which addresses (README: "Selected pods").
import type { V1Pod } from '@kubernetes/client-node';

/** Annotation ipamd writes with the pod's IPs, used when `status.podIP` is not yet set. */
export const POD_IPS_ANNOTATION = 'vpc.amazonaws.com/pod-ips';

/** `status.podIP`, else the first address of the pod-ips annotation, else undefined. */
export function podIP(pod: V1Pod): string | undefined {
  const ip = pod.status?.podIP;
  if (ip) return ip;
  const ann = pod.metadata?.annotations?.[POD_IPS_ANNOTATION];
  const first = ann?.split(',')[0]?.trim();
  return first || undefined;
}

/** Network ready: has an IP and has not finished (Succeeded/Failed). Terminating pods stay ready. */
export function isReady(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return podIP(pod) !== undefined && phase !== 'Succeeded' && phase !== 'Failed';
}

export const labelsOf = (o: { metadata?: { labels?: Record<string, string> } }): Record<string, string> =>
  o.metadata?.labels ?? {};

export const nameOf = (o: { metadata?: { name?: string } }): string => o.metadata?.name ?? '';
export const namespaceOf = (o: { metadata?: { namespace?: string } }): string => o.metadata?.namespace ?? '';
