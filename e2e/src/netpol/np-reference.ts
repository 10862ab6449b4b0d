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

export type Proto = 'tcp' | 'udp' | 'sctp' | 'icmp';
/**
 * `tcp/80`, `udp/81`, `sctp/80`, `icmp`; and through the cluster DNS (docs/network-policy-cases.md, "Cluster
 * DNS"): `dns-udp/53`, `dns-tcp/53`, a lookup sent to the destination (a DNS server: the kube-dns Service or its
 * pod) that must come back with the right address; `name-tcp/8080`, the destination Service's name looked up
 * through the kube-dns Service (UDP 53), then a connect to the address it answered.
 */
export type ProbeName =
  `${'tcp' | 'udp' | 'sctp'}/${number}` | 'icmp' | `dns-${'udp' | 'tcp'}/53` | `name-tcp/${number}`;

/** A ClusterIP Service: the Service's selector and ports, and the one backend pod the lab's DNAT sends to. */
export interface WorldService {
  selector: Record<string, string>;
  ports: { port: number; targetPort: number; protocol: 'TCP' | 'UDP' }[];
  /** `namespace/name` of the backend pod (the lab's stand-in for kube-proxy is static). */
  backend: string;
}

export interface WorldPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ip: string;
  /** Container ports (for named ports). */
  ports: { name: string; containerPort: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
  /**
   * What the endpoint is. `pod` (default): a pod on the lab node, enforced by the agent. `host`: a hostNetwork
   * pod (its address is its node's; never enforced, but a peer like any pod); `localNode` when on the lab node,
   * whose address the datapath always allows both ways. `outside`: an address outside the cluster (not a pod:
   * only ipBlocks match it). `service`: a ClusterIP (a destination only; reached through the lab's DNAT).
   */
  kind?: 'pod' | 'host' | 'outside' | 'service';
  localNode?: boolean;
  service?: WorldService;
  /** Answers DNS queries on 53 (the kube-dns Service and its pod): the destinations of `dns-*` probes. */
  dns?: boolean;
}

export interface World {
  namespaces: Record<string, Record<string, string>>;
  pods: WorldPod[];
  policies: NetworkPolicy[];
}

export const ref = (p: { namespace: string; name: string }): string => `${p.namespace}/${p.name}`;

/** How a probe reaches its destination: directly, as a DNS lookup sent to it, or by its name. */
export const probeVia = (p: ProbeName): 'direct' | 'dns' | 'name' =>
  p.startsWith('dns-') ? 'dns' : p.startsWith('name-') ? 'name' : 'direct';

/** The protocol and port a probe's packets carry (a lookup: UDP or TCP 53; by name: the connect's). */
export function parseProbe(p: ProbeName): { proto: Proto; port: number } {
  if (p === 'icmp') return { proto: 'icmp', port: 0 };
  const [kind, port] = p.split('/') as [string, string];
  return { proto: kind.replace(/^(dns|name)-/, '') as Proto, port: Number(port) };
}

/** The cluster DNS Service of a set of endpoints (the one `name-*` probes look names up through). */
const clusterDns = <P extends Pick<WorldPod, 'kind' | 'dns'>>(pods: P[]): P | undefined =>
  pods.find((p) => p.kind === 'service' && p.dns);

function policyTypes(np: NetworkPolicy): string[] {
  if (np.spec.policyTypes && np.spec.policyTypes.length > 0) return np.spec.policyTypes;
  return (np.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

const isPod = (p: WorldPod): boolean => (p.kind ?? 'pod') === 'pod';

function inBlock(block: NonNullable<NpPeer['ipBlock']>, ip: string): boolean {
  const fam = familyOf(ip);
  if (familyOf(block.cidr.split('/')[0]!) !== fam || !cidrContains(parseCidr(block.cidr), ip)) return false;
  return !(block.except ?? []).some(
    (e) => familyOf(e.split('/')[0]!) === fam && cidrContains(parseCidr(e), ip),
  );
}

function peerMatches(w: World, peer: NpPeer, policyNs: string, p: WorldPod): boolean {
  if (peer.ipBlock) return inBlock(peer.ipBlock, p.ip);
  // Selectors name pods: host-network pods too (by their node's address), never outside addresses.
  if (p.kind === 'outside' || p.kind === 'service') return false;
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

const selecting = (w: World, p: WorldPod, type: string): NetworkPolicy[] =>
  w.policies.filter(
    (np) =>
      np.metadata.namespace === p.namespace &&
      policyTypes(np).includes(type) &&
      selectorMatches(np.spec.podSelector ?? {}, p.labels),
  );

/** Ports of a rule toward an address (no selector): numeric and protocol-only entries; named ones are dropped. */
function addressPortsMatch(ports: NpPort[] | undefined, probe: { proto: Proto; port: number }): boolean {
  if (!ports || ports.length === 0) return true;
  if (probe.proto === 'icmp') return false;
  return ports.some((pp) => {
    if ((pp.protocol ?? 'TCP').toLowerCase() !== probe.proto || typeof pp.port === 'string') return false;
    if (pp.port === undefined) return true;
    return probe.port >= pp.port && probe.port <= (pp.endPort ?? pp.port);
  });
}

/**
 * An egress rule toward a Service's ClusterIP, as the controller resolves it (docs/network-policy-cases.md,
 * "Services"): a rule without peers or an ipBlock holding the ClusterIP allows the listen port by number; a
 * selector peer allows the Service when its namespace is selected and its podSelector matches the Service's
 * selector as a label set, on the listen port of the Service port whose targetPort is the policy's port (an
 * endPort is applied from the listen port). Named ports and named targetPorts are not modelled (refused).
 */
function serviceEgressRule(
  w: World,
  r: { to?: NpPeer[]; ports?: NpPort[] },
  policyNs: string,
  dst: WorldPod,
  probe: { proto: Proto; port: number },
): boolean {
  const svc = dst.service!;
  const peers = r.to ?? [];
  if (peers.length === 0) return addressPortsMatch(r.ports, probe);
  return peers.some((peer) => {
    if (peer.ipBlock) return inBlock(peer.ipBlock, dst.ip) && addressPortsMatch(r.ports, probe);
    const nsOk = peer.namespaceSelector
      ? selectorMatches(peer.namespaceSelector, w.namespaces[dst.namespace] ?? {})
      : dst.namespace === policyNs;
    if (!nsOk || !selectorMatches(peer.podSelector ?? {}, svc.selector)) return false;
    if (!r.ports || r.ports.length === 0) return true;
    if (probe.proto === 'icmp') return false;
    return r.ports.some((pp) => {
      if ((pp.protocol ?? 'TCP').toLowerCase() !== probe.proto) return false;
      if (pp.port === undefined) return true;
      if (typeof pp.port === 'string')
        throw new Error('the evaluator does not model named ports toward Services');
      const sp = svc.ports.find((s) => s.protocol.toLowerCase() === probe.proto && s.targetPort === pp.port);
      if (!sp) return false;
      return (
        probe.port === sp.port ||
        (pp.endPort !== undefined && probe.port > sp.port && probe.port <= pp.endPort)
      );
    });
  });
}

/** Whether the egress side of `src` lets `probe` out toward `dst` (the address the packet leaves with). */
function egressAllows(w: World, src: WorldPod, dst: WorldPod, pr: { proto: Proto; port: number }): boolean {
  if (!isPod(src)) return true; // host-network and outside sources are not enforced
  if (dst.kind === 'host' && dst.localNode) return true; // the node's own address is always allowed
  const egress = selecting(w, src, 'Egress');
  return (
    egress.length === 0 ||
    egress.some((np) =>
      (np.spec.egress ?? []).some((r) =>
        dst.kind === 'service'
          ? serviceEgressRule(w, r, src.namespace, dst, pr)
          : ((r.to ?? []).length === 0 ||
              (r.to ?? []).some((peer) => peerMatches(w, peer, src.namespace, dst))) &&
            portMatches(r.ports, pr, dst),
      ),
    )
  );
}

/** Whether the ingress side of `dst` admits `probe` from `src`. */
function ingressAllows(w: World, src: WorldPod, dst: WorldPod, pr: { proto: Proto; port: number }): boolean {
  if (!isPod(dst)) return true;
  if (src.kind === 'host' && src.localNode) return true; // the node's own address (kubelet probes)
  const ingress = selecting(w, dst, 'Ingress');
  return (
    ingress.length === 0 ||
    ingress.some((np) =>
      (np.spec.ingress ?? []).some(
        (r) =>
          ((r.from ?? []).length === 0 ||
            (r.from ?? []).some((peer) => peerMatches(w, peer, dst.namespace, src))) &&
          portMatches(r.ports, pr, dst),
      ),
    )
  );
}

/** The Service port a probe to a ClusterIP lands on, if any. */
function servicePort(dst: WorldPod, probe: ProbeName): WorldService['ports'][number] | undefined {
  const pr = parseProbe(probe);
  return dst.service?.ports.find((s) => s.protocol.toLowerCase() === pr.proto && s.port === pr.port);
}

/**
 * Whether `src` may open `probe` to `dst` (egress of src and ingress of dst both allow it). To a Service: the
 * egress side judges the ClusterIP and listen port, the ingress side the backend pod on the target port.
 */
export function npAllows(w: World, src: WorldPod, dst: WorldPod, probe: ProbeName): boolean {
  const pr = parseProbe(probe);
  if (probeVia(probe) === 'name') {
    // The lookup (UDP 53 to the kube-dns ClusterIP), then the connect to the address it answered.
    const dns = clusterDns(w.pods);
    if (!dns) throw new Error(`${probe} needs the cluster DNS Service among the endpoints`);
    return npAllows(w, src, dns, 'udp/53') && npAllows(w, src, dst, `${pr.proto as 'tcp'}/${pr.port}`);
  }
  if (dst.kind === 'service') {
    const sp = servicePort(dst, probe);
    const backend = w.pods.find((p) => ref(p) === dst.service!.backend);
    if (!sp || !backend) throw new Error(`${ref(dst)} has no port ${probe} or no backend`);
    return (
      egressAllows(w, src, dst, pr) &&
      ingressAllows(w, src, backend, { proto: pr.proto, port: sp.targetPort })
    );
  }
  return egressAllows(w, src, dst, pr) && ingressAllows(w, src, dst, pr);
}

/** The fields of an endpoint that decide which cells a matrix has. */
export type CellEndpoint = Pick<WorldPod, 'namespace' | 'name' | 'kind' | 'service' | 'dns'>;

/**
 * The cells of a matrix: ordered pairs of distinct endpoints × probes, where the source is not a Service and at
 * least one end is a pod (traffic between two unenforced ends never meets the datapath); a Service is probed
 * from pods other than its backend, on its own ports. Lookups (`dns-*`) go to DNS servers only; a probe by name
 * (`name-*`) goes to Services only, from pods other than the DNS Service's backend (its lookup would be hairpin).
 */
export function cellsOf<P extends CellEndpoint>(
  pods: P[],
  probes: ProbeName[],
): { src: P; dst: P; probe: ProbeName }[] {
  const out: { src: P; dst: P; probe: ProbeName }[] = [];
  const pod = (p: P) => (p.kind ?? 'pod') === 'pod';
  const dnsBackend = clusterDns(pods)?.service?.backend;
  for (const src of pods)
    for (const dst of pods) {
      if (src === dst || src.kind === 'service') continue;
      for (const probe of probes) {
        const via = probeVia(probe);
        if (via === 'dns' && !dst.dns) continue;
        if (via === 'name' && (dst.kind !== 'service' || dnsBackend === ref(src))) continue;
        if (dst.kind === 'service') {
          // Not from its own backend: hairpin traffic needs the proxy's masquerade, not a policy question.
          const hairpin = dst.service!.backend === ref(src);
          if (pod(src) && !hairpin && servicePort(dst as unknown as WorldPod, probe))
            out.push({ src, dst, probe });
        } else if (pod(src) || pod(dst)) out.push({ src, dst, probe });
      }
    }
  return out;
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

/** Every cell (cellsOf): allowed unless an expectation (later ones win) says otherwise. */
export function expandExpectations(
  pods: CellEndpoint[],
  probes: ProbeName[],
  expects: Expect[],
): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const { src, dst, probe } of cellsOf(pods, probes)) {
    let v = true;
    for (const e of expects)
      if (
        podPatternMatches(e.from, src) &&
        podPatternMatches(e.to, dst) &&
        probePatternMatches(e.probe, probe)
      )
        v = e.allowed;
    m.set(cell(ref(src), ref(dst), probe), v);
  }
  return m;
}

/** The same matrix from the reference evaluator. */
export function referenceMatrix(w: World, probes: ProbeName[]): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const { src, dst, probe } of cellsOf(w.pods, probes))
    m.set(cell(ref(src), ref(dst), probe), npAllows(w, src, dst, probe));
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
