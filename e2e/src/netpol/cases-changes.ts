// Cases of the table (docs/network-policy-cases.md) that change what is in force: policies added and deleted,
// pod and namespace labels changed, replies of allowed connections, ICMP, and the EKS Stars demo in both
// directions (its steps, then deleted in reverse order).
import { type CaseStep, A, no, type NpCase, none, one, podIs, T5, T6, TCP80, yes } from './case-kit.js';
import { type Expect, np, type ProbeName } from './np-reference.js';

export const CHANGE_CASES: NpCase[] = [
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
