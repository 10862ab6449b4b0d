// Cases T1–T17 of the table (docs/network-policy-cases.md): policy types, peers (pod, namespace, both, ipBlock),
// ports (numbers, protocols, ranges, named), each on the xyz fixture, one step each.
import {
  A,
  ALL,
  denyIngressX,
  nsIs,
  no,
  type NpCase,
  one,
  POD_CIDR,
  podIs,
  T5,
  T6,
  TCP80,
  yes,
} from './case-kit.js';
import { np } from './np-reference.js';

export const BASIC_CASES: NpCase[] = [
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
];
