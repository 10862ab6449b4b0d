// Policy ports → PolicyEndpoint ports (README: "Ports"). Missing protocol means TCP; a missing port means every
// port of the protocol; a named port is looked up in pods' container ports (first match of name and protocol).
import type { V1NetworkPolicyPort, V1Pod } from '@kubernetes/client-node';
import type { PePort } from '@vpc-cni/shared/k8s';

export const protocolOf = (p: { protocol?: string }): string => p.protocol || 'TCP';

/** The container port number a pod declares under `name` and `protocol` (the first one), if any. */
export function namedPort(pod: V1Pod, name: string, protocol: string): number | undefined {
  for (const c of pod.spec?.containers ?? [])
    for (const cp of c.ports ?? [])
      if (cp.name === name && protocolOf(cp) === protocol) return cp.containerPort;
  return undefined;
}

/** A policy port that needs no pod to resolve: protocol only, or numeric. Undefined for a named port. */
export function literalPort(p: V1NetworkPolicyPort): PePort | undefined {
  const protocol = protocolOf(p);
  if (p.port === undefined || p.port === null) return { protocol };
  if (typeof p.port === 'number')
    return p.endPort !== undefined && p.endPort !== null
      ? { protocol, port: p.port, endPort: p.endPort }
      : { protocol, port: p.port };
  return undefined;
}

export const portKey = (p: PePort): string => `${protocolOf(p)}/${p.port ?? ''}/${p.endPort ?? ''}`;

/** De-duplicated, sorted by protocol, port, endPort. */
export function uniquePorts(ports: Iterable<PePort>): PePort[] {
  const m = new Map<string, PePort>();
  for (const p of ports) m.set(portKey(p), p);
  return [...m.values()].sort(
    (a, b) =>
      protocolOf(a).localeCompare(protocolOf(b)) ||
      (a.port ?? -1) - (b.port ?? -1) ||
      (a.endPort ?? -1) - (b.endPort ?? -1),
  );
}

/** Named ports dropped (for ipBlock peers and rules without peers). */
export function literalPorts(ports: readonly V1NetworkPolicyPort[]): PePort[] {
  return uniquePorts(ports.flatMap((p) => literalPort(p) ?? []));
}

/**
 * Ports resolved against a set of pods: numeric ports pass through; each named port becomes the union of what
 * the pods map it to (ingress resolves against the policy's selected pods, egress against each peer pod alone).
 */
export function resolvePorts(ports: readonly V1NetworkPolicyPort[], pods: readonly V1Pod[]): PePort[] {
  const out: PePort[] = [];
  for (const p of ports) {
    const lit = literalPort(p);
    if (lit) {
      out.push(lit);
      continue;
    }
    const protocol = protocolOf(p);
    for (const pod of pods) {
      const n = namedPort(pod, String(p.port), protocol);
      if (n !== undefined) out.push({ protocol, port: n });
    }
  }
  return uniquePorts(out);
}

/** A rule that listed ports but resolved none contributes nothing (undefined); otherwise its ports. */
export function rulePorts(listed: readonly V1NetworkPolicyPort[], resolved: PePort[]): PePort[] | undefined {
  return listed.length > 0 && resolved.length === 0 ? undefined : resolved;
}
