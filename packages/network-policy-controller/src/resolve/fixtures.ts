// Builders for the resolver's tests: small client-node objects with only the fields the resolver reads.
import type {
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicySpec,
  V1Pod,
  V1Service,
} from '@kubernetes/client-node';

export function pod(
  ns: string,
  name: string,
  ip: string | undefined,
  labels: Record<string, string>,
  extra: {
    hostIP?: string;
    ports?: { name?: string; containerPort: number; protocol?: string }[];
    phase?: string;
    hostNetwork?: boolean;
  } = {},
): V1Pod {
  return {
    metadata: { namespace: ns, name, labels, uid: `uid-${ns}-${name}` },
    spec: {
      containers: [{ name: 'c', ports: extra.ports ?? [] }],
      ...(extra.hostNetwork ? { hostNetwork: true } : {}),
    },
    status: {
      ...(ip ? { podIP: ip } : {}),
      hostIP: extra.hostIP ?? '10.0.0.1',
      phase: extra.phase ?? 'Running',
    },
  };
}

export const namespace = (name: string, labels: Record<string, string> = {}): V1Namespace => ({
  metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
});

export const policy = (ns: string, name: string, spec: V1NetworkPolicySpec): V1NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { namespace: ns, name, uid: `np-${ns}-${name}` },
  spec,
});

export function service(
  ns: string,
  name: string,
  clusterIP: string,
  selector: Record<string, string> | undefined,
  ports: { port: number; targetPort?: number | string; protocol?: string; name?: string }[],
): V1Service {
  return {
    metadata: { namespace: ns, name },
    spec: { clusterIP, ...(selector ? { selector } : {}), ports },
  };
}
