// Host-side veth names as the CNI plugin makes them: prefix + the first 11 hex characters of
// SHA-1("<namespace>.<pod>"), with ".<i>" appended to the pod name for interface index i > 0.
import { createHash } from 'node:crypto';

export function hostVethName(prefix: string, namespace: string, pod: string, index = 0): string {
  const name = index > 0 ? `${pod}.${index}` : pod;
  return prefix + createHash('sha1').update(`${namespace}.${name}`).digest('hex').slice(0, 11);
}

/**
 * The datapath key (pin-name prefix) of one pod: `<name>@<namespace>` (one key per pod, package README
 * "Map layout"), or, past 200 bytes, a shortened name with a hash of the whole.
 */
export function podKey(name: string, namespace: string): string {
  const full = `${name}@${namespace}`;
  if (full.length <= 200) return full;
  const h = createHash('sha1').update(full).digest('hex').slice(0, 16);
  return `${name.slice(0, 200 - namespace.length - 18)}.${h}@${namespace}`;
}
