// The vocabulary of the network policy case table (docs/network-policy-cases.md): what a case and a step are, the
// fixtures (pods, namespaces, servers), the endpoints that are not ordinary pods (host-network pods, addresses
// outside the cluster, ClusterIP Services), and the shorthands the case files (cases-*.ts) are written in.
import {
  type Expect,
  type NetworkPolicy,
  np,
  type ProbeName,
  type WorldPod,
  type WorldService,
} from './np-reference.js';

/** Pod addresses of the lab (lab.ts hands out 10.244.<i/250>.<i%250+2>): the "cluster pod CIDR". */
export const POD_CIDR = '10.244.0.0/16';

export type IpOf = (podRef: string) => string;

export interface CaseStep {
  what: string;
  /** The policies in force after this step (the runner creates, updates and deletes to reach exactly these). */
  policies: (ip: IpOf) => NetworkPolicy[];
  /** Label overrides from the fixture's defaults in force during this step (`x/c` → labels). */
  podLabels?: Record<string, Record<string, string>>;
  namespaceLabels?: Record<string, Record<string, string>>;
  probes: ProbeName[];
  expect: Expect[];
}

export interface NpCase {
  id: string;
  title: string;
  fixture: 'xyz' | 'stars';
  /** Endpoints of EXTRAS this case adds to the fixture's pods (its matrix includes them). */
  extras?: (keyof typeof EXTRAS)[];
  steps: CaseStep[];
}

export interface Fixture {
  namespaces: Record<string, Record<string, string>>;
  pods: Omit<WorldPod, 'ip'>[];
  /** TCP, UDP and SCTP ports each pod serves (servers answer on all of them). */
  serve: { tcp: number[]; udp: number[]; sctp?: number[] };
}

const nsLabels = (name: string, labels: Record<string, string>) => ({
  'kubernetes.io/metadata.name': name,
  ...labels,
});

export const FIXTURES: Record<NpCase['fixture'], Fixture> = {
  // Namespaces x, y, z labelled ns=<name>; pods a, b, c in each labelled pod=<name>.
  xyz: {
    namespaces: Object.fromEntries(['x', 'y', 'z'].map((n) => [n, nsLabels(n, { ns: n })])),
    pods: ['x', 'y', 'z'].flatMap((namespace) =>
      ['a', 'b', 'c'].map((name) => ({
        namespace,
        name,
        labels: { pod: name },
        ports: [
          { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' as const },
          { name: 'serve-81-tcp', containerPort: 81, protocol: 'TCP' as const },
          { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' as const },
        ],
      })),
    ),
    // UDP 53 too: T16 probes it everywhere (an ICMP port unreachable is no reply the datapath admits).
    serve: { tcp: [80, 81, 82], udp: [53, 80, 81], sctp: [80, 81] },
  },
  // The EKS "Stars" demo: UI, client, frontend, backend.
  stars: {
    namespaces: {
      'management-ui': nsLabels('management-ui', { role: 'management-ui' }),
      client: nsLabels('client', { role: 'client' }),
      stars: nsLabels('stars', {}),
    },
    pods: [
      { namespace: 'management-ui', name: 'ui', labels: { role: 'management-ui' }, ports: [] },
      { namespace: 'client', name: 'client', labels: { role: 'client' }, ports: [] },
      { namespace: 'stars', name: 'frontend', labels: { role: 'frontend' }, ports: [] },
      { namespace: 'stars', name: 'backend', labels: { role: 'backend' }, ports: [] },
    ],
    serve: { tcp: [9001, 9000, 80, 6379], udp: [] },
  },
};

type Extra = Omit<WorldPod, 'ip' | 'namespace' | 'name' | 'ports'> & {
  ip?: string;
  ports?: WorldPod['ports'];
};

/**
 * Endpoints that are not ordinary pods of a fixture, which a case adds with `extras` (the kernel lab creates them
 * all once; a case's matrix holds only its own): host-network pods (`host-local` on the lab node, address = the
 * node's; `host-remote` on another node, reached through the lab's outside namespace), addresses outside the
 * cluster (`ext/*`, also in the outside namespace), ClusterIP Services (`svc-<pod>`, port 8080 → targetPort 80,
 * one backend each, DNAT in the lab node as kube-proxy would), and the cluster DNS: the pod `kube-system/coredns`
 * (`k8s-app=kube-dns`, a DNS responder on UDP and TCP 53 answering the Services' names) behind the Service
 * `kube-system/kube-dns`. `ip` is fixed except for `host-local` (the lab node's address) and pods (the lab's).
 */
export const EXTRAS = {
  'x/host-local': { kind: 'host', localNode: true, labels: { pod: 'host' } },
  'x/host-remote': { kind: 'host', localNode: false, labels: { pod: 'host' }, ip: '192.168.200.7' },
  'ext/db': { kind: 'outside', labels: {}, ip: '172.31.5.10' },
  'ext/dns': { kind: 'outside', labels: {}, ip: '8.8.8.8' },
  'x/svc-b': { kind: 'service', labels: {}, ip: '10.96.0.12', service: svc('b') },
  'x/svc-c': { kind: 'service', labels: {}, ip: '10.96.0.13', service: svc('c') },
  'kube-system/coredns': {
    kind: 'pod',
    labels: { 'k8s-app': 'kube-dns' },
    dns: true,
    ports: [
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
    ],
  },
  'kube-system/kube-dns': {
    kind: 'service',
    labels: {},
    ip: '10.96.0.10',
    dns: true,
    service: {
      selector: { 'k8s-app': 'kube-dns' },
      ports: [
        { port: 53, targetPort: 53, protocol: 'UDP' },
        { port: 53, targetPort: 53, protocol: 'TCP' },
      ],
      backend: 'kube-system/coredns',
    },
  },
} satisfies Record<string, Extra>;

/** Namespaces of extras that no fixture has (in every case's world and in the lab's API stand-in). */
export const EXTRA_NAMESPACES: Record<string, Record<string, string>> = {
  'kube-system': nsLabels('kube-system', {}),
};

/** Ports the outside namespace serves (for every address it holds). */
export const OUTSIDE_SERVE = { tcp: [80, 81, 3306, 3307], udp: [53, 80] };

/** Ports the pods of EXTRAS serve besides DNS (UDP and TCP 53, the responder's; UDP echoes what is no query). */
export const EXTRA_POD_SERVE = { tcp: [80, 81, 82], udp: [80, 81] };

function svc(pod: string): WorldService {
  return {
    selector: { pod },
    ports: [{ port: 8080, targetPort: 80, protocol: 'TCP' }],
    backend: `x/${pod}`,
  };
}

export type ExtraRef = keyof typeof EXTRAS;

/** An extra endpoint as a (address-less) world pod. */
export function extraPod(r: ExtraRef): Omit<WorldPod, 'ip'> & { ip?: string } {
  const [namespace, name] = r.split('/') as [string, string];
  const e: Extra = EXTRAS[r];
  return { namespace, name, ports: [], ...e };
}

/** The endpoints of a case's matrix: its fixture's pods, then its extras. */
export function casePods(c: NpCase): (Omit<WorldPod, 'ip'> & { ip?: string })[] {
  return [...FIXTURES[c.fixture].pods, ...(c.extras ?? []).map(extraPod)];
}

export const A = { matchLabels: { pod: 'a' } };
export const podIs = (p: string) => ({ podSelector: { matchLabels: { pod: p } } });
export const nsIs = (n: string) => ({ namespaceSelector: { matchLabels: { ns: n } } });
export const denyIngressX = np('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
export const T5 = np('x', 'allow-b', { podSelector: A, ingress: [{ from: [podIs('b')] }] });
export const T6 = np('x', 'allow-ns-y', { podSelector: A, ingress: [{ from: [nsIs('y')] }] });
export const none = () => [];
export const no = (from: string, to: string, probe?: string): Expect => ({ from, to, allowed: false, probe });
export const yes = (from: string, to: string, probe?: string): Expect => ({ from, to, allowed: true, probe });
export const one = (
  what: string,
  policies: NetworkPolicy[],
  probes: ProbeName[],
  expect: Expect[],
): CaseStep[] => [{ what, policies: () => policies, probes, expect }];

export const TCP80: ProbeName[] = ['tcp/80'];
export const ALL: ProbeName[] = ['tcp/80', 'tcp/81', 'udp/80', 'udp/81', 'icmp'];
