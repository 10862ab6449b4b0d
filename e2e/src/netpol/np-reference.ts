// A reference evaluator of Kubernetes NetworkPolicy semantics at the object level (policies, pods, namespaces;
// no PolicyEndpoints, no compiled maps), and the expansion of a case's expectation list into a full matrix. The
// pure test (cases.test.ts) checks that every case's hand-written expectations agree with this evaluator, so a
// wrong table cannot slip into the kernel test; the kernel test (cases.kernel.test.ts) then checks the same
// matrix against real probes through the controller and the agent. See docs/network-policy-cases.md.
import { cidrContains, familyOf, parseCidr } from '@vpc-cni/shared/ipmath';
import { type LabelSelector, selectorMatches } from '@vpc-cni/shared/k8s';

// NetworkPolicy in its wire form (`from`, as written to the API), the fields the semantics read.
export interface NpPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
export interface NpPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}
export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: { name: string; namespace: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: { from?: NpPeer[]; ports?: NpPort[] }[];
    egress?: { to?: NpPeer[]; ports?: NpPort[] }[];
  };
}

export const np = (namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});

export type Proto = 'tcp' | 'udp' | 'icmp';
/** `tcp/80`, `udp/81`, `icmp`. */
export type ProbeName = `${'tcp' | 'udp'}/${number}` | 'icmp';

export interface WorldPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip: string;
  /** Container ports (for named ports). */
  ports: { name: string; containerPort: number; protocol: 'TCP' | 'UDP' }[];
}

export interface World {
  namespaces: Record<string, Record<string, string>>;
  pods: WorldPod[];
  policies: NetworkPolicy[];
}

export const ref = (p: { namespace: string; name: string }): string => `${p.namespace}/${p.name}`;

export function parseProbe(p: ProbeName): { proto: Proto; port: number } {
  if (p === 'icmp') return { proto: 'icmp', port: 0 };
  const [proto, port] = p.split('/');
  return { proto: proto as Proto, port: Number(port) };
}

function policyTypes(np: NetworkPolicy): string[] {
  if (np.spec.policyTypes && np.spec.policyTypes.length > 0) return np.spec.policyTypes;
  return (np.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

function peerMatches(w: World, peer: NpPeer, policyNs: string, p: WorldPod): boolean {
  if (peer.ipBlock) {
    const fam = familyOf(p.ip);
    const cidr = peer.ipBlock.cidr;
    if (familyOf(cidr.split('/')[0]!) !== fam || !cidrContains(parseCidr(cidr), p.ip)) return false;
    return !(peer.ipBlock.except ?? []).some(
      (e) => familyOf(e.split('/')[0]!) === fam && cidrContains(parseCidr(e), p.ip),
    );
  }
  const nsOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, w.namespaces[p.namespace] ?? {})
    : p.namespace === policyNs;
  const podOk = peer.podSelector ? selectorMatches(peer.podSelector, p.labels) : true;
  return nsOk && podOk;
}

function portMatches(
  ports: NpPort[] | undefined,
  probe: { proto: Proto; port: number },
  dst: WorldPod,
): boolean {
  if (!ports || ports.length === 0) return true;
  if (probe.proto === 'icmp') return false; // a port list names TCP/UDP/SCTP only
  return ports.some((pp) => {
    const proto = (pp.protocol ?? 'TCP').toLowerCase();
    if (proto !== probe.proto) return false;
    if (pp.port === undefined) return true;
    if (typeof pp.port === 'string') {
      return dst.ports.some(
        (c) => c.name === pp.port && c.protocol.toLowerCase() === proto && c.containerPort === probe.port,
      );
    }
    const hi = pp.endPort ?? pp.port;
    return probe.port >= pp.port && probe.port <= hi;
  });
}

/** Whether `src` may open `probe` to `dst` (egress of src and ingress of dst both allow it). */
export function npAllows(w: World, src: WorldPod, dst: WorldPod, probe: ProbeName): boolean {
  const pr = parseProbe(probe);
  const selecting = (p: WorldPod, type: string) =>
    w.policies.filter(
      (np) =>
        np.metadata.namespace === p.namespace &&
        policyTypes(np).includes(type) &&
        selectorMatches(np.spec.podSelector ?? {}, p.labels),
    );
  const egress = selecting(src, 'Egress');
  const egressOk =
    egress.length === 0 ||
    egress.some((np) =>
      (np.spec.egress ?? []).some(
        (r) =>
          ((r.to ?? []).length === 0 ||
            (r.to ?? []).some((peer) => peerMatches(w, peer, src.namespace, dst))) &&
          portMatches(r.ports, pr, dst),
      ),
    );
  const ingress = selecting(dst, 'Ingress');
  const ingressOk =
    ingress.length === 0 ||
    ingress.some((np) =>
      (np.spec.ingress ?? []).some(
        (r) =>
          ((r.from ?? []).length === 0 ||
            (r.from ?? []).some((peer) => peerMatches(w, peer, dst.namespace, src))) &&
          portMatches(r.ports, pr, dst),
      ),
    );
  return egressOk && ingressOk;
}

/** One expectation: pods matching `from` → pods matching `to` on probes matching `probe` get `allowed`. */
export interface Expect {
  from: string;
  to: string;
  allowed: boolean;
  /** `tcp/80`, `tcp/*`, `udp/*`, `icmp`; default every probe of the step. */
  probe?: string;
}

/** `x/a`, `x/*`, `* /b` (no space), `*`. */
export function podPatternMatches(pattern: string, p: { namespace: string; name: string }): boolean {
  if (pattern === '*') return true;
  const [ns, name] = pattern.split('/');
  return (ns === '*' || ns === p.namespace) && (name === '*' || name === p.name);
}

function probePatternMatches(pattern: string | undefined, probe: ProbeName): boolean {
  if (pattern === undefined || pattern === '*') return true;
  if (pattern.endsWith('/*')) return probe.startsWith(pattern.slice(0, -1));
  return pattern === probe;
}

/** Matrix key: `x/a → y/b tcp/80`. */
export const cell = (src: string, dst: string, probe: ProbeName): string => `${src} → ${dst} ${probe}`;

/** Every pair of distinct pods × probes: allowed unless an expectation (later ones win) says otherwise. */
export function expandExpectations(
  pods: { namespace: string; name: string }[],
  probes: ProbeName[],
  expects: Expect[],
): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const s of pods)
    for (const d of pods) {
      if (s === d) continue;
      for (const pr of probes) {
        let v = true;
        for (const e of expects)
          if (podPatternMatches(e.from, s) && podPatternMatches(e.to, d) && probePatternMatches(e.probe, pr))
            v = e.allowed;
        m.set(cell(ref(s), ref(d), pr), v);
      }
    }
  return m;
}

/** The same matrix from the reference evaluator. */
export function referenceMatrix(w: World, probes: ProbeName[]): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const s of w.pods)
    for (const d of w.pods) {
      if (s === d) continue;
      for (const pr of probes) m.set(cell(ref(s), ref(d), pr), npAllows(w, s, d, pr));
    }
  return m;
}

/** Cells where two matrices differ, as `<cell>: expected ✓|✗, got ✓|✗`. */
export function matrixDiff(expected: Map<string, boolean>, got: Map<string, boolean>): string[] {
  const out: string[] = [];
  for (const [k, v] of expected) {
    const g = got.get(k);
    if (g !== v) out.push(`${k}: expected ${v ? '✓' : '✗'}, got ${g === undefined ? '?' : g ? '✓' : '✗'}`);
  }
  return out;
}
