// The network policy test cases as data (docs/network-policy-cases.md): for each case the pods and labels it
// runs on, the NetworkPolicy objects in force at each step, the probes, and the expected verdicts written in the
// case's own notation (`x/* → x/a` ✗ ...; every pair not mentioned is allowed). cases.test.ts expands them into
// full who-reaches-whom matrices and checks them against the reference evaluator (np-reference.ts);
// cases.kernel.test.ts runs them through the real controller and agent with real probes. Cases that this lab
// cannot express are listed in NOT_IN_LAB with the reason.
import { type Expect, type NetworkPolicy, np, type ProbeName, type WorldPod } from './np-reference.js';

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
  steps: CaseStep[];
}

export interface Fixture {
  namespaces: Record<string, Record<string, string>>;
  pods: Omit<WorldPod, 'ip'>[];
  /** TCP and UDP ports each pod serves (servers answer on all of them). */
  serve: { tcp: number[]; udp: number[] };
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
    serve: { tcp: [80, 81, 82], udp: [80, 81] },
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

const A = { matchLabels: { pod: 'a' } };
const podIs = (p: string) => ({ podSelector: { matchLabels: { pod: p } } });
const nsIs = (n: string) => ({ namespaceSelector: { matchLabels: { ns: n } } });
const denyIngressX = np('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
const T5 = np('x', 'allow-b', { podSelector: A, ingress: [{ from: [podIs('b')] }] });
const T6 = np('x', 'allow-ns-y', { podSelector: A, ingress: [{ from: [nsIs('y')] }] });
const none = () => [];
const no = (from: string, to: string, probe?: string): Expect => ({ from, to, allowed: false, probe });
const yes = (from: string, to: string, probe?: string): Expect => ({ from, to, allowed: true, probe });
const one = (what: string, policies: NetworkPolicy[], probes: ProbeName[], expect: Expect[]): CaseStep[] => [
  { what, policies: () => policies, probes, expect },
];

const TCP80: ProbeName[] = ['tcp/80'];
const ALL: ProbeName[] = ['tcp/80', 'tcp/81', 'udp/80', 'udp/81', 'icmp'];

export const CASES: NpCase[] = [
  {
    id: 'T1',
    title: 'no policy: every pair, every protocol',
    fixture: 'xyz',
    steps: one('none', [], ALL, []),
  },
  {
    id: 'T2',
    title: 'deny all ingress in x',
    fixture: 'xyz',
    steps: one('deny-ingress', [denyIngressX], ['tcp/80', 'tcp/81', 'udp/80', 'icmp'], [no('*', 'x/*')]),
  },
  {
    id: 'T3',
    title: 'deny all egress in x; inbound connections still get their replies',
    fixture: 'xyz',
    steps: one(
      'deny-egress',
      [np('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
      ['tcp/80', 'udp/80', 'icmp'],
      [no('x/*', '*')],
    ),
  },
  {
    id: 'T4',
    title: 'deny ingress in x + allow all ingress to x/a',
    fixture: 'xyz',
    steps: one(
      'deny + allow-a',
      [denyIngressX, np('x', 'allow-a', { podSelector: A, ingress: [{}] })],
      ['tcp/80', 'tcp/81'],
      [no('*', 'x/*'), yes('*', 'x/a')],
    ),
  },
  {
    id: 'T5',
    title: 'ingress to x/a from pod=b of x',
    fixture: 'xyz',
    steps: one('allow-b', [T5], TCP80, [no('*', 'x/a'), yes('x/b', 'x/a')]),
  },
  {
    id: 'T6',
    title: 'ingress to x/a from namespace ns=y',
    fixture: 'xyz',
    steps: one('allow-ns-y', [T6], TCP80, [no('*', 'x/a'), yes('y/*', 'x/a')]),
  },
  {
    id: 'T7',
    title: 'one peer: namespace ns=y AND pod=b',
    fixture: 'xyz',
    steps: one(
      'and-peer',
      [np('x', 'and-peer', { podSelector: A, ingress: [{ from: [{ ...nsIs('y'), ...podIs('b') }] }] })],
      TCP80,
      [no('*', 'x/a'), yes('y/b', 'x/a')],
    ),
  },
  {
    id: 'T8',
    title: 'two peers: namespace ns=y OR pod=b (of x)',
    fixture: 'xyz',
    steps: one(
      'or-peers',
      [np('x', 'or-peers', { podSelector: A, ingress: [{ from: [nsIs('y'), podIs('b')] }] })],
      TCP80,
      [no('*', 'x/a'), yes('y/*', 'x/a'), yes('x/b', 'x/a')],
    ),
  },
  {
    id: 'T9',
    title: 'every namespace, pod=b',
    fixture: 'xyz',
    steps: one(
      'all-ns-b',
      [
        np('x', 'all-ns-b', {
          podSelector: A,
          ingress: [{ from: [{ namespaceSelector: {}, ...podIs('b') }] }],
        }),
      ],
      TCP80,
      [no('*', 'x/a'), yes('*/b', 'x/a')],
    ),
  },
  {
    id: 'T10',
    title: 'ingress to x/a on TCP 80 only',
    fixture: 'xyz',
    steps: one(
      'tcp-80',
      [np('x', 'tcp-80', { podSelector: A, ingress: [{ ports: [{ protocol: 'TCP', port: 80 }] }] })],
      ['tcp/80', 'tcp/81', 'udp/80', 'icmp'],
      [no('*', 'x/a'), yes('*', 'x/a', 'tcp/80')],
    ),
  },
  {
    id: 'T11',
    title: 'ingress to x/a on every UDP port',
    fixture: 'xyz',
    steps: one(
      'udp-any',
      [np('x', 'udp-any', { podSelector: A, ingress: [{ ports: [{ protocol: 'UDP' }] }] })],
      ['tcp/80', 'udp/80', 'udp/81'],
      [no('*', 'x/a'), yes('*', 'x/a', 'udp/*')],
    ),
  },
  {
    id: 'T12',
    title: 'TCP port range 80-81',
    fixture: 'xyz',
    steps: one(
      'range',
      [
        np('x', 'range', {
          podSelector: A,
          ingress: [{ ports: [{ protocol: 'TCP', port: 80, endPort: 81 }] }],
        }),
      ],
      ['tcp/80', 'tcp/81', 'tcp/82', 'udp/80'],
      [no('*', 'x/a'), yes('*', 'x/a', 'tcp/80'), yes('*', 'x/a', 'tcp/81')],
    ),
  },
  {
    id: 'T13',
    title: 'named port serve-81-tcp',
    fixture: 'xyz',
    steps: one(
      'named',
      [np('x', 'named', { podSelector: A, ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
      ['tcp/80', 'tcp/81'],
      [no('*', 'x/a'), yes('*', 'x/a', 'tcp/81')],
    ),
  },
  {
    id: 'T14',
    title: 'egress of x/a to pod=b on named port serve-80-tcp',
    fixture: 'xyz',
    steps: one(
      'egress-named',
      [
        np('x', 'egress-named', {
          podSelector: A,
          policyTypes: ['Egress'],
          egress: [{ to: [podIs('b')], ports: [{ port: 'serve-80-tcp' }] }],
        }),
      ],
      ['tcp/80', 'tcp/81'],
      [no('x/a', '*'), yes('x/a', 'x/b', 'tcp/80')],
    ),
  },
  {
    id: 'T15',
    title: 'ingress from an ipBlock holding the pod CIDR except y/b',
    fixture: 'xyz',
    steps: [
      {
        what: 'ipblock-except',
        policies: (ip) => [
          np('x', 'ipblock-except', {
            podSelector: A,
            ingress: [{ from: [{ ipBlock: { cidr: POD_CIDR, except: [`${ip('y/b')}/32`] } }] }],
          }),
        ],
        probes: TCP80,
        expect: [no('y/b', 'x/a')],
      },
    ],
  },
  {
    id: 'T17',
    title: 'egress: union of 0.0.0.0/0 and a block excepting y/b (chosen behaviour: union, y/b reachable)',
    fixture: 'xyz',
    steps: [
      {
        what: 'egress-union',
        policies: (ip) => [
          np('x', 'egress-union', {
            podSelector: A,
            policyTypes: ['Egress'],
            egress: [
              { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] },
              { to: [{ ipBlock: { cidr: POD_CIDR, except: [`${ip('y/b')}/32`] } }] },
            ],
          }),
        ],
        probes: TCP80,
        expect: [yes('x/a', 'y/b')],
      },
    ],
  },
  {
    id: 'T21',
    title: 'two policies on x/a; deleting one keeps the other; deleting both reopens (standard)',
    fixture: 'xyz',
    steps: [
      {
        what: 'P1 + P2',
        policies: () => [
          np('x', 'p1', { podSelector: A, ingress: [{ from: [podIs('b')] }] }),
          np('x', 'p2', { podSelector: A, ingress: [{ from: [podIs('c')] }] }),
        ],
        probes: TCP80,
        expect: [no('*', 'x/a'), yes('x/b', 'x/a'), yes('x/c', 'x/a')],
      },
      {
        what: 'P1 deleted',
        policies: () => [np('x', 'p2', { podSelector: A, ingress: [{ from: [podIs('c')] }] })],
        probes: TCP80,
        expect: [no('*', 'x/a'), yes('x/c', 'x/a')],
      },
      { what: 'P2 deleted', policies: none, probes: TCP80, expect: [] },
    ],
  },
  {
    id: 'T22',
    title: 'T5, then x/c relabelled pod=b and back',
    fixture: 'xyz',
    steps: [
      { what: 'T5', policies: () => [T5], probes: TCP80, expect: [no('*', 'x/a'), yes('x/b', 'x/a')] },
      {
        what: 'x/c labelled pod=b',
        policies: () => [T5],
        podLabels: { 'x/c': { pod: 'b' } },
        probes: TCP80,
        expect: [no('*', 'x/a'), yes('x/b', 'x/a'), yes('x/c', 'x/a')],
      },
      {
        what: 'x/c back to pod=c',
        policies: () => [T5],
        probes: TCP80,
        expect: [no('*', 'x/a'), yes('x/b', 'x/a')],
      },
    ],
  },
  {
    id: 'T23',
    title: 'T6, then namespace z labelled ns=y and back',
    fixture: 'xyz',
    steps: [
      { what: 'T6', policies: () => [T6], probes: TCP80, expect: [no('*', 'x/a'), yes('y/*', 'x/a')] },
      {
        what: 'z labelled ns=y',
        policies: () => [T6],
        namespaceLabels: { z: { ns: 'y' } },
        probes: TCP80,
        expect: [no('*', 'x/a'), yes('y/*', 'x/a'), yes('z/*', 'x/a')],
      },
      {
        what: 'z back to ns=z',
        policies: () => [T6],
        probes: TCP80,
        expect: [no('*', 'x/a'), yes('y/*', 'x/a')],
      },
    ],
  },
  {
    id: 'T27',
    title: 'ingress to x/a denied; x/a still opens connections out (replies admitted by conntrack)',
    fixture: 'xyz',
    steps: one(
      'deny-a',
      [np('x', 'deny-a', { podSelector: A, policyTypes: ['Ingress'] })],
      ['tcp/80', 'udp/80'],
      [no('*', 'x/a')],
    ),
  },
  {
    id: 'T30',
    title: 'ICMP: denied by a TCP-80-only rule, allowed by ingress [{}]',
    fixture: 'xyz',
    steps: [
      {
        what: 'tcp-80',
        policies: () => [
          np('x', 'icmp', { podSelector: A, ingress: [{ ports: [{ protocol: 'TCP', port: 80 }] }] }),
        ],
        probes: ['tcp/80', 'icmp'],
        expect: [no('*', 'x/a', 'icmp')],
      },
      {
        what: 'ingress [{}]',
        policies: () => [np('x', 'icmp', { podSelector: A, ingress: [{}] })],
        probes: ['tcp/80', 'icmp'],
        expect: [],
      },
    ],
  },
  {
    id: 'Stars',
    title: 'the EKS Stars demo: four steps, then deleted in reverse order',
    fixture: 'stars',
    steps: starsSteps(),
  },
];

function starsSteps(): CaseStep[] {
  const defaultDeny = (n: string) => np(n, 'default-deny', { podSelector: {} });
  const allowUi = (n: string) =>
    np(n, 'allow-ui', {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { role: 'management-ui' } } }] }],
    });
  const backend = np('stars', 'backend-policy', {
    podSelector: { matchLabels: { role: 'backend' } },
    ingress: [
      {
        from: [{ podSelector: { matchLabels: { role: 'frontend' } } }],
        ports: [{ protocol: 'TCP', port: 6379 }],
      },
    ],
  });
  const frontend = np('stars', 'frontend-policy', {
    podSelector: { matchLabels: { role: 'frontend' } },
    ingress: [
      {
        from: [{ namespaceSelector: { matchLabels: { role: 'client' } } }],
        ports: [{ protocol: 'TCP', port: 80 }],
      },
    ],
  });
  const probes: ProbeName[] = ['tcp/9000', 'tcp/80', 'tcp/6379'];
  const sets = [
    [],
    [defaultDeny('stars'), defaultDeny('client')],
    [defaultDeny('stars'), defaultDeny('client'), allowUi('stars'), allowUi('client')],
    [defaultDeny('stars'), defaultDeny('client'), allowUi('stars'), allowUi('client'), backend],
    [defaultDeny('stars'), defaultDeny('client'), allowUi('stars'), allowUi('client'), backend, frontend],
  ];
  const expects: Expect[][] = [
    [],
    [no('*', 'client/*'), no('*', 'stars/*')],
    [
      no('*', 'client/*'),
      no('*', 'stars/*'),
      yes('management-ui/*', 'client/*'),
      yes('management-ui/*', 'stars/*'),
    ],
    [
      no('*', 'client/*'),
      no('*', 'stars/*'),
      yes('management-ui/*', 'client/*'),
      yes('management-ui/*', 'stars/*'),
      yes('stars/frontend', 'stars/backend', 'tcp/6379'),
    ],
    [
      no('*', 'client/*'),
      no('*', 'stars/*'),
      yes('management-ui/*', 'client/*'),
      yes('management-ui/*', 'stars/*'),
      yes('stars/frontend', 'stars/backend', 'tcp/6379'),
      yes('client/*', 'stars/frontend', 'tcp/80'),
    ],
  ];
  const step = (i: number, what: string): CaseStep => ({
    what,
    policies: () => sets[i]!,
    probes,
    expect: expects[i]!,
  });
  return [
    step(1, 'step 1: default-deny'),
    step(2, 'step 2: + allow-ui'),
    step(3, 'step 3: + backend-policy'),
    step(4, 'step 4: + frontend-policy'),
    step(3, 'frontend-policy deleted (back to step 3)'),
    step(2, 'backend-policy deleted (step 2)'),
    step(1, 'allow-ui deleted (step 1)'),
    step(0, 'default-deny deleted (step 0)'),
  ];
}

/** Cases of the behaviour reference this lab does not run, with the reason. */
export const NOT_IN_LAB: { id: string; why: string }[] = [
  { id: 'T16', why: 'needs destinations outside the pod CIDR (a server on another /16, 8.8.8.8)' },
  { id: 'T18', why: 'ClusterIP Services: the lab has no kube-proxy to translate a ClusterIP' },
  { id: 'T19', why: 'kube-dns through a ClusterIP: no kube-proxy, no DNS server in the lab' },
  { id: 'T20', why: 'ClusterIP Services: the lab has no kube-proxy' },
  {
    id: 'T24',
    why: 'Deployment scaling: covered at the agent level by agent-enforce.kernel.test.ts (strict first packet)',
  },
  { id: 'T25', why: 'strict mode: covered at the agent level by agent-enforce.kernel.test.ts' },
  { id: 'T26', why: 'strict mode second replica: agent level, not a matrix' },
  { id: 'T28', why: 'established connection re-evaluation: a conntrack test of the datapath, not a matrix' },
  { id: 'T29', why: 'a 60 s in-flight request: too slow for this suite' },
  { id: 'T31', why: 'SCTP: Node.js has no SCTP sockets to probe with' },
  { id: 'T32', why: 'IPv6 cluster: the lab is IPv4' },
  { id: 'T33', why: 'hostNetwork pods: the lab has one node and no host-network client' },
  { id: 'T34', why: 'pod names with dots: identity hashing is unit-tested in the agent' },
  { id: 'T35', why: 'ClusterNetworkPolicy: the controller does not resolve CNPs yet (its README)' },
  { id: 'T36', why: 'ClusterNetworkPolicy: not in the controller' },
  { id: 'T37', why: 'ClusterNetworkPolicy: not in the controller' },
  { id: 'T38', why: 'ClusterNetworkPolicy: not in the controller' },
  { id: 'T39', why: 'ClusterNetworkPolicy: not in the controller' },
  { id: 'T40', why: 'port overflow: compiler-level (agent unit tests)' },
  { id: 'T41', why: 'CLI pins after delete: agent-level' },
  { id: 'T42', why: 'agent restart: in cases.kernel.test.ts as its own scenario, not a table row' },
];
