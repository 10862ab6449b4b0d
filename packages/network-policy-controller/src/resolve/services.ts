// Egress to Services (README: "Egress to Services"): a selector peer also allows the ClusterIP of every Service
// of a resolved namespace whose selector the peer's podSelector matches, with policy ports mapped to the
// Service's listen ports.
import type {
  IntOrString,
  V1NetworkPolicyPort,
  V1Pod,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';
import { type EndpointInfo, type LabelSelector, type PePort, selectorMatches } from '@vpc-cni/shared/k8s';
import { labelsOf } from './pods.js';
import { literalPort, namedPort, protocolOf, uniquePorts } from './ports.js';

const isHeadless = (s: V1Service): boolean => !s.spec?.clusterIP || s.spec.clusterIP === 'None';

/** A Service port's target (the API server defaults it to the port number). */
const targetOf = (sp: V1ServicePort): IntOrString => sp.targetPort ?? sp.port;

/** Pods in the Service's namespace its selector picks (a selector-less Service has none we can know). */
function backendPods(svc: V1Service, pods: readonly V1Pod[]): V1Pod[] {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return [];
  return pods.filter((p) => selectorMatches({ matchLabels: sel }, labelsOf(p)));
}

/** The Service port a policy port maps to, if any (target equal first, then through backend pods). */
function matchServicePort(
  svc: V1Service,
  pp: V1NetworkPolicyPort,
  backends: readonly V1Pod[],
): V1ServicePort | undefined {
  const protocol = protocolOf(pp);
  const ports = (svc.spec?.ports ?? []).filter((sp) => protocolOf(sp) === protocol);
  const direct = ports.find((sp) => targetOf(sp) === pp.port);
  if (direct) return direct;
  for (const pod of backends)
    for (const c of pod.spec?.containers ?? [])
      for (const cp of c.ports ?? []) {
        if (protocolOf(cp) !== protocol) continue;
        const hit = typeof pp.port === 'number' ? cp.containerPort === pp.port : cp.name === pp.port;
        if (!hit) continue;
        const sp = ports.find((s) => {
          const t = targetOf(s);
          return typeof t === 'number' ? t === cp.containerPort : cp.name !== undefined && t === cp.name;
        });
        if (sp) return sp;
      }
  return undefined;
}

/** Does a numeric/protocol-only entry of the policy's list allow `port`/`protocol`? */
function allowedByLiterals(
  policyPorts: readonly V1NetworkPolicyPort[],
  protocol: string,
  port: number,
): boolean {
  return policyPorts.some((pp) => {
    const lit = literalPort(pp);
    if (!lit || protocolOf(lit) !== protocol) return false;
    if (lit.port === undefined) return true;
    return port >= lit.port && port <= (lit.endPort ?? lit.port);
  });
}

/** Ports of one Service for a rule, or undefined when the rule listed ports and none maps. */
export function servicePorts(
  svc: V1Service,
  policyPorts: readonly V1NetworkPolicyPort[],
  nsPods: readonly V1Pod[],
): PePort[] | undefined {
  const backends = backendPods(svc, nsPods);
  const out: PePort[] = [];
  for (const pp of policyPorts) {
    const protocol = protocolOf(pp);
    if (pp.port === undefined || pp.port === null) {
      out.push({ protocol });
      continue;
    }
    const sp = matchServicePort(svc, pp, backends);
    if (!sp) continue;
    const target = targetOf(sp);
    if (typeof pp.port === 'number' && typeof target === 'string') {
      // Bypass guard: the named target must land on a port the policy allows on every backend.
      const bypass = backends.some((pod) => {
        const n = namedPort(pod, target, protocol);
        return n !== undefined && !allowedByLiterals(policyPorts, protocol, n);
      });
      if (bypass) continue;
    }
    out.push(
      pp.endPort !== undefined && pp.endPort !== null
        ? { protocol, port: sp.port, endPort: pp.endPort }
        : { protocol, port: sp.port },
    );
  }
  const ports = uniquePorts(out);
  return policyPorts.length > 0 && ports.length === 0 ? undefined : ports;
}

/** ClusterIP entries for one egress selector peer in one namespace. */
export function serviceEntries(
  peerPodSelector: LabelSelector | undefined,
  services: readonly V1Service[],
  policyPorts: readonly V1NetworkPolicyPort[],
  nsPods: readonly V1Pod[],
): EndpointInfo[] {
  const out: EndpointInfo[] = [];
  for (const svc of services) {
    if (isHeadless(svc)) continue;
    // Quirk kept from upstream: the peer's podSelector is matched against the Service's selector map.
    if (!selectorMatches(peerPodSelector ?? {}, svc.spec?.selector ?? {})) continue;
    const ports = servicePorts(svc, policyPorts, nsPods);
    if (!ports) continue;
    out.push({ cidr: svc.spec?.clusterIP, ports });
  }
  return out;
}
