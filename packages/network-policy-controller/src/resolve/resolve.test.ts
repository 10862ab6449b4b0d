import { describe, expect, it } from 'vitest';
import { clusterView } from './cluster.js';
import type { service } from './fixtures.js';
import { namespace, pod, policy } from './fixtures.js';
import { resolvePolicy } from './resolve.js';

const stars = () => ({
  namespaces: [
    namespace('stars'),
    namespace('client', { role: 'client' }),
    namespace('management-ui', { role: 'management-ui' }),
  ],
  pods: [
    pod(
      'stars',
      'backend-1',
      '192.168.14.7',
      { role: 'backend' },
      { hostIP: '192.168.12.40', ports: [{ name: 'redis', containerPort: 6379 }] },
    ),
    pod(
      'stars',
      'frontend-1',
      '192.168.20.33',
      { role: 'frontend' },
      { ports: [{ name: 'http', containerPort: 80 }] },
    ),
    pod('client', 'client-1', '192.168.30.5', { role: 'client' }),
    pod('management-ui', 'ui-1', '192.168.40.9', { role: 'management-ui' }),
  ],
  services: [] as ReturnType<typeof service>[],
});

describe('resolvePolicy: selected pods', () => {
  it('the documented backend-policy example: one selected pod, one frontend peer on TCP 6379', () => {
    const np = policy('stars', 'backend-policy', {
      podSelector: { matchLabels: { role: 'backend' } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          _from: [{ podSelector: { matchLabels: { role: 'frontend' } } }],
          ports: [{ protocol: 'TCP', port: 6379 }],
        },
      ],
    });
    const d = resolvePolicy(np, clusterView(stars()));
    expect(d).toEqual({
      policyRef: { name: 'backend-policy', namespace: 'stars' },
      podSelector: { matchLabels: { role: 'backend' } },
      podIsolation: ['Ingress'],
      pods: [{ hostIP: '192.168.12.40', podIP: '192.168.14.7', name: 'backend-1', namespace: 'stars' }],
      ingress: [{ cidr: '192.168.20.33', ports: [{ protocol: 'TCP', port: 6379 }] }],
      egress: [],
    });
  });

  it('excludes host-network, IP-less and finished pods; keeps the pod-ips annotation and terminating pods', () => {
    const c = stars();
    c.pods.push(
      pod('stars', 'hostnet', '10.0.0.1', { role: 'backend' }, { hostNetwork: true }),
      pod('stars', 'pending', undefined, { role: 'backend' }),
      pod('stars', 'done', '192.168.14.8', { role: 'backend' }, { phase: 'Succeeded' }),
      pod('stars', 'failed', '192.168.14.9', { role: 'backend' }, { phase: 'Failed' }),
    );
    const annotated = pod('stars', 'annotated', undefined, { role: 'backend' });
    annotated.metadata!.annotations = { 'vpc.amazonaws.com/pod-ips': '192.168.14.10' };
    const terminating = pod('stars', 'terminating', '192.168.14.11', { role: 'backend' });
    terminating.metadata!.deletionTimestamp = new Date(0);
    c.pods.push(annotated, terminating);
    const d = resolvePolicy(
      policy('stars', 'p', { podSelector: { matchLabels: { role: 'backend' } } }),
      clusterView(c),
    );
    expect(d.pods.map((p) => `${p.name}=${p.podIP}`)).toEqual([
      'annotated=192.168.14.10',
      'backend-1=192.168.14.7',
      'terminating=192.168.14.11',
    ]);
  });

  it('podIsolation: policyTypes as stored, defaulted like the API server when absent', () => {
    const v = clusterView(stars());
    expect(resolvePolicy(policy('stars', 'a', { podSelector: {} }), v).podIsolation).toEqual(['Ingress']);
    expect(resolvePolicy(policy('stars', 'b', { podSelector: {}, egress: [{}] }), v).podIsolation).toEqual([
      'Ingress',
      'Egress',
    ]);
    expect(
      resolvePolicy(policy('stars', 'c', { podSelector: {}, policyTypes: ['Egress'] }), v).podIsolation,
    ).toEqual(['Egress']);
    // Default-deny: every pod of the namespace selected, no rules.
    const dd = resolvePolicy(policy('stars', 'default-deny', { podSelector: {} }), v);
    expect(dd.pods.map((p) => p.name)).toEqual(['backend-1', 'frontend-1']);
    expect([dd.ingress, dd.egress]).toEqual([[], []]);
  });
});

describe('resolvePolicy: peers', () => {
  it('ingress peers in the wire form of a watch event (`from`) mean the same as the listed form (`_from`)', () => {
    const peers = [{ podSelector: { matchLabels: { role: 'frontend' } } }];
    const listed = policy('stars', 'p', { podSelector: {}, ingress: [{ _from: peers }] });
    // A watch event carries the API's JSON, which client-node's model spells `_from`.
    const watched = policy('stars', 'p', {
      podSelector: {},
      ingress: [{ from: peers } as unknown as { _from: typeof peers }],
    });
    const d = resolvePolicy(watched, clusterView(stars()));
    expect(d.ingress).toEqual([{ cidr: '192.168.20.33' }]);
    expect(d).toEqual(resolvePolicy(listed, clusterView(stars())));
  });

  it('a rule without peers allows 0.0.0.0/0 and ::/0 with its ports', () => {
    const np = policy('stars', 'p', {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ port: 80 }] }],
      egress: [{}],
    });
    const d = resolvePolicy(np, clusterView(stars()));
    expect(d.ingress).toEqual([
      { cidr: '0.0.0.0/0', ports: [{ protocol: 'TCP', port: 80 }] },
      { cidr: '::/0', ports: [{ protocol: 'TCP', port: 80 }] },
    ]);
    expect(d.egress).toEqual([{ cidr: '0.0.0.0/0' }, { cidr: '::/0' }]);
  });

  it('ipBlock is copied verbatim with except; named ports are dropped and an all-named rule produces nothing', () => {
    const np = policy('stars', 'p', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }],
          ports: [{ port: 'http' }, { protocol: 'UDP', port: 53 }],
        },
        { to: [{ ipBlock: { cidr: '172.16.0.0/12' } }], ports: [{ port: 'http' }] },
        { ports: [{ port: 'http' }] },
      ],
    });
    expect(resolvePolicy(np, clusterView(stars())).egress).toEqual([
      { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'], ports: [{ protocol: 'UDP', port: 53 }] },
    ]);
  });

  it('namespaceSelector only: every ready pod of matching namespaces; {} matches all namespaces', () => {
    const v = clusterView(stars());
    const byNs = resolvePolicy(
      policy('stars', 'frontend-policy', {
        podSelector: { matchLabels: { role: 'frontend' } },
        ingress: [
          { _from: [{ namespaceSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 80 }] },
        ],
      }),
      v,
    );
    expect(byNs.ingress).toEqual([{ cidr: '192.168.30.5', ports: [{ protocol: 'TCP', port: 80 }] }]);
    const all = resolvePolicy(
      policy('stars', 'all', { podSelector: {}, ingress: [{ _from: [{ namespaceSelector: {} }] }] }),
      v,
    );
    expect(all.ingress.map((e) => e.cidr)).toEqual([
      '192.168.14.7',
      '192.168.20.33',
      '192.168.30.5',
      '192.168.40.9',
    ]);
  });

  it("a policy as a watch event delivers it (wire `from`, not the list call's `_from`) resolves the same", () => {
    const v = clusterView(stars());
    const spec = (key: string) => ({
      podSelector: { matchLabels: { role: 'frontend' } },
      ingress: [
        { [key]: [{ namespaceSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 80 }] },
      ],
    });
    const wire = resolvePolicy(policy('stars', 'frontend-policy', spec('from')), v);
    expect(wire.ingress).toEqual([{ cidr: '192.168.30.5', ports: [{ protocol: 'TCP', port: 80 }] }]);
    expect(wire).toEqual(resolvePolicy(policy('stars', 'frontend-policy', spec('_from')), v));
  });

  it('namespaceSelector and podSelector together: pods matching both', () => {
    const c = stars();
    c.pods.push(pod('client', 'other', '192.168.30.6', { role: 'other' }));
    const d = resolvePolicy(
      policy('stars', 'p', {
        podSelector: {},
        ingress: [
          {
            _from: [
              {
                namespaceSelector: { matchExpressions: [{ key: 'role', operator: 'Exists' }] },
                podSelector: { matchLabels: { role: 'client' } },
              },
            ],
          },
        ],
      }),
      clusterView(c),
    );
    expect(d.ingress).toEqual([{ cidr: '192.168.30.5' }]);
  });

  it('host-network peer pods count (by their node IP)', () => {
    const c = stars();
    c.pods.push(pod('stars', 'hn', '10.0.0.9', { role: 'frontend' }, { hostNetwork: true }));
    const d = resolvePolicy(
      policy('stars', 'p', {
        podSelector: { matchLabels: { role: 'backend' } },
        ingress: [{ _from: [{ podSelector: { matchLabels: { role: 'frontend' } } }] }],
      }),
      clusterView(c),
    );
    expect(d.ingress.map((e) => e.cidr)).toEqual(['10.0.0.9', '192.168.20.33']);
  });

  it('the same CIDR from two rules is merged: union of ports, or all ports if either has none', () => {
    const d = resolvePolicy(
      policy('stars', 'p', {
        podSelector: {},
        ingress: [
          { _from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 80 }] },
          { _from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 443, endPort: 450 }] },
          { _from: [{ ipBlock: { cidr: '10.2.0.0/16' } }], ports: [{ port: 80 }] },
          { _from: [{ ipBlock: { cidr: '10.2.0.0/16' } }] },
        ],
      }),
      clusterView(stars()),
    );
    expect(d.ingress).toEqual([
      {
        cidr: '10.0.0.0/8',
        ports: [
          { protocol: 'TCP', port: 80 },
          { protocol: 'TCP', port: 443, endPort: 450 },
        ],
      },
      { cidr: '10.2.0.0/16' },
    ]);
  });
});

describe('resolvePolicy: named ports', () => {
  it('ingress: resolved against the selected pods, union over them; an unresolvable rule is skipped', () => {
    const c = stars();
    c.pods.push(
      pod(
        'stars',
        'backend-2',
        '192.168.14.12',
        { role: 'backend' },
        { ports: [{ name: 'redis', containerPort: 6380 }] },
      ),
    );
    const np = policy('stars', 'p', {
      podSelector: { matchLabels: { role: 'backend' } },
      ingress: [
        {
          _from: [{ ipBlock: { cidr: '10.0.0.0/8' } }],
          ports: [{ port: 'redis' }, { port: 9000, protocol: 'UDP' }],
        },
        { _from: [{ ipBlock: { cidr: '172.16.0.0/12' } }], ports: [{ port: 'nope' }] },
      ],
    });
    expect(resolvePolicy(np, clusterView(c)).ingress).toEqual([
      {
        cidr: '10.0.0.0/8',
        ports: [
          { protocol: 'TCP', port: 6379 },
          { protocol: 'TCP', port: 6380 },
          { protocol: 'UDP', port: 9000 },
        ],
      },
    ]);
  });

  it('egress: resolved per destination pod; a pod resolving nothing is skipped; numeric ports kept as-is', () => {
    const np = policy('stars', 'p', {
      podSelector: { matchLabels: { role: 'frontend' } },
      policyTypes: ['Egress'],
      egress: [
        { to: [{ podSelector: {} }], ports: [{ port: 'redis' }] },
        {
          to: [{ podSelector: { matchLabels: { role: 'frontend' } } }],
          ports: [{ port: 'redis' }, { port: 8080 }],
        },
      ],
    });
    expect(resolvePolicy(np, clusterView(stars())).egress).toEqual([
      { cidr: '192.168.14.7', ports: [{ protocol: 'TCP', port: 6379 }] },
      { cidr: '192.168.20.33', ports: [{ protocol: 'TCP', port: 8080 }] },
    ]);
  });
});
