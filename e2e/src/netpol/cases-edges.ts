// Cases of the table (docs/network-policy-cases.md) at the edges of the pod network: destinations outside the
// cluster (ipBlock with except), ClusterIP Services (egress resolved to the ClusterIP and listen port; ingress
// judged at the backend after the lab's DNAT), the cluster DNS behind one (lookups, Services by name),
// host-network pods (never enforced, peers by their node's address; the lab node's own address always allowed)
// and SCTP. Their extra endpoints are in EXTRAS.
import { A, denyIngressX, no, type NpCase, one, POD_CIDR, podIs, T5, yes } from './case-kit.js';
import { np, type ProbeName } from './np-reference.js';

const SVC: ProbeName[] = ['tcp/80', 'tcp/8080'];
/** x/a may reach pod=b (of x) on TCP 80 only. */
const T18 = np('x', 'egress-b-80', {
  podSelector: A,
  policyTypes: ['Egress'],
  egress: [{ to: [podIs('b')], ports: [{ protocol: 'TCP', port: 80 }] }],
});
/** T18 and the cluster DNS: kube-dns pods of kube-system on UDP and TCP 53. */
const T19 = np('x', 'egress-b-80-dns', {
  ...T18.spec,
  egress: [
    ...T18.spec.egress!,
    {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    },
  ],
});
/** Port 53 plainly (the kube-dns pod and Service, the pods, 8.8.8.8), lookups, Services directly and by name. */
const DNS: ProbeName[] = ['tcp/80', 'tcp/8080', 'udp/53', 'dns-udp/53', 'dns-tcp/53', 'name-tcp/8080'];

export const EDGE_CASES: NpCase[] = [
  {
    id: 'T16',
    title: 'egress of x/a to an outside /16 on TCP 3306 only, anywhere else but that /16 on anything',
    fixture: 'xyz',
    extras: ['ext/db', 'ext/dns'],
    steps: one(
      'outside',
      [
        np('x', 'outside', {
          podSelector: A,
          policyTypes: ['Egress'],
          egress: [
            { to: [{ ipBlock: { cidr: '172.31.0.0/16' } }], ports: [{ protocol: 'TCP', port: 3306 }] },
            { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['172.31.0.0/16'] } }] },
          ],
        }),
      ],
      ['tcp/3306', 'tcp/3307', 'udp/53'],
      [no('x/a', 'ext/db'), yes('x/a', 'ext/db', 'tcp/3306')],
    ),
  },
  {
    id: 'T18',
    title:
      'egress of x/a to pod=b on TCP 80: also through svc-b (8080 → 80), not svc-c; then b admits only c',
    fixture: 'xyz',
    extras: ['x/svc-b', 'x/svc-c'],
    steps: [
      {
        what: 'egress to pod=b TCP 80',
        policies: () => [T18],
        probes: SVC,
        expect: [no('x/a', '*'), yes('x/a', 'x/b', 'tcp/80'), yes('x/a', 'x/svc-b')],
      },
      {
        what: '+ x/b admits only pod=c (judged at the backend, after DNAT)',
        policies: () => [
          T18,
          np('x', 'b-from-c', {
            podSelector: { matchLabels: { pod: 'b' } },
            ingress: [{ from: [podIs('c')] }],
          }),
        ],
        probes: SVC,
        expect: [
          no('x/a', '*'),
          yes('x/a', 'x/svc-b'),
          no('*', 'x/b'),
          no('*', 'x/svc-b'),
          yes('x/c', 'x/b'),
          yes('x/c', 'x/svc-b'),
        ],
      },
    ],
  },
  {
    id: 'T19',
    title:
      'T18 + egress to kube-dns on UDP/TCP 53: lookups through the kube-dns ClusterIP, then svc-b by name; ' +
      'deny-egress: no lookups',
    fixture: 'xyz',
    extras: ['x/svc-b', 'x/svc-c', 'kube-system/coredns', 'kube-system/kube-dns', 'ext/dns'],
    steps: [
      {
        what: 'T18 + kube-dns UDP/TCP 53',
        policies: () => [T19],
        probes: DNS,
        expect: [
          no('x/a', '*'),
          yes('x/a', 'x/b', 'tcp/80'),
          // svc-b directly and by its name (svc-b.x looked up through the kube-dns ClusterIP); svc-c neither.
          yes('x/a', 'x/svc-b'),
          // kube-dns's pod and ClusterIP on 53, UDP and TCP lookups; nothing else on 53 (not 8.8.8.8, not x/b).
          yes('x/a', 'kube-system/*', 'udp/53'),
          yes('x/a', 'kube-system/*', 'dns-udp/53'),
          yes('x/a', 'kube-system/*', 'dns-tcp/53'),
        ],
      },
      {
        what: 'T3: deny egress in x (lookups too)',
        policies: () => [np('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
        probes: DNS,
        expect: [no('x/*', '*')],
      },
    ],
  },
  {
    id: 'T20',
    title: 'egress of x/a to the pod CIDR on TCP 80: pods by address yes, through a ClusterIP no',
    fixture: 'xyz',
    extras: ['x/svc-b', 'x/svc-c'],
    steps: one(
      'ipblock pod CIDR',
      [
        np('x', 'pod-cidr-80', {
          podSelector: A,
          policyTypes: ['Egress'],
          egress: [{ to: [{ ipBlock: { cidr: POD_CIDR } }], ports: [{ protocol: 'TCP', port: 80 }] }],
        }),
      ],
      SVC,
      [no('x/a', '*'), yes('x/a', '*', 'tcp/80')],
    ),
  },
  {
    id: 'T31',
    title: 'ingress to x/a on SCTP 80 only',
    fixture: 'xyz',
    steps: one(
      'sctp-80',
      [np('x', 'sctp-80', { podSelector: A, ingress: [{ ports: [{ protocol: 'SCTP', port: 80 }] }] })],
      ['sctp/80', 'sctp/81', 'tcp/80'],
      [no('*', 'x/a'), yes('*', 'x/a', 'sctp/80')],
    ),
  },
  {
    id: 'T33',
    title: 'host-network pods: not enforced; as peers by their node address; the lab node always allowed',
    fixture: 'xyz',
    extras: ['x/host-local', 'x/host-remote'],
    steps: [
      {
        what: 'deny ingress in x (selects the host-network pods too)',
        policies: () => [denyIngressX],
        probes: ['tcp/80'],
        expect: [
          no('*', 'x/*'),
          yes('x/host-local', 'x/*'),
          yes('*', 'x/host-local'),
          yes('*', 'x/host-remote'),
        ],
      },
      {
        what: 'T5',
        policies: () => [T5],
        probes: ['tcp/80'],
        expect: [no('*', 'x/a'), yes('x/b', 'x/a'), yes('x/host-local', 'x/a')],
      },
      {
        what: 'T5, x/host-remote labelled pod=b',
        policies: () => [T5],
        podLabels: { 'x/host-remote': { pod: 'b' } },
        probes: ['tcp/80'],
        expect: [no('*', 'x/a'), yes('x/b', 'x/a'), yes('x/host-local', 'x/a'), yes('x/host-remote', 'x/a')],
      },
    ],
  },
];
