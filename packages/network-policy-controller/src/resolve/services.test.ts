import { describe, expect, it } from 'vitest';
import { clusterView } from './cluster.js';
import { namespace, pod, policy, service } from './fixtures.js';
import { resolvePolicy } from './resolve.js';

const egressTo = (
  ports?: { port?: number | string; protocol?: string; endPort?: number }[],
  podSelector = { matchLabels: { app: 'web' } },
) =>
  policy('client', 'p', {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [
      {
        to: [{ namespaceSelector: { matchLabels: { team: 'web' } }, podSelector }],
        ...(ports ? { ports } : {}),
      },
    ],
  });

const cluster = (
  services = [service('web', 'web', '10.100.0.10', { app: 'web' }, [{ port: 80, targetPort: 8080 }])],
) =>
  clusterView({
    namespaces: [namespace('client'), namespace('web', { team: 'web' })],
    pods: [
      pod('client', 'c', '192.168.1.2', {}),
      pod('web', 'web-1', '192.168.2.2', { app: 'web' }, { ports: [{ name: 'http', containerPort: 8080 }] }),
    ],
    services,
  });

describe('egress to Services', () => {
  it('a numeric policy port equal to a targetPort allows the Service listen port on the ClusterIP', () => {
    expect(resolvePolicy(egressTo([{ port: 8080 }]), cluster()).egress).toEqual([
      { cidr: '10.100.0.10', ports: [{ protocol: 'TCP', port: 80 }] },
      { cidr: '192.168.2.2', ports: [{ protocol: 'TCP', port: 8080 }] },
    ]);
  });

  it('a named policy port is mapped through the backend pods to the Service port', () => {
    expect(resolvePolicy(egressTo([{ port: 'http' }]), cluster()).egress[0]).toEqual({
      cidr: '10.100.0.10',
      ports: [{ protocol: 'TCP', port: 80 }],
    });
  });

  it('no ports → all ports on the ClusterIP; headless Services and unmatched selectors are skipped', () => {
    const e = resolvePolicy(
      egressTo(undefined),
      cluster([
        service('web', 'web', '10.100.0.10', { app: 'web' }, [{ port: 80, targetPort: 8080 }]),
        service('web', 'headless', 'None', { app: 'web' }, [{ port: 80 }]),
        service('web', 'db', '10.100.0.11', { app: 'db' }, [{ port: 5432 }]),
      ]),
    ).egress;
    expect(e).toEqual([{ cidr: '10.100.0.10' }, { cidr: '192.168.2.2' }]);
  });

  it('quirk kept: an empty peer podSelector matches every Service, selector-less ones too', () => {
    const e = resolvePolicy(
      egressTo(undefined, {} as { matchLabels: { app: string } }),
      cluster([service('web', 'ext', '10.100.0.12', undefined, [{ port: 443 }])]),
    ).egress;
    expect(e.map((x) => x.cidr)).toEqual(['10.100.0.12', '192.168.2.2']);
  });

  it('a policy port no Service port maps to skips the Service', () => {
    expect(resolvePolicy(egressTo([{ port: 9999 }]), cluster()).egress).toEqual([
      { cidr: '192.168.2.2', ports: [{ protocol: 'TCP', port: 9999 }] },
    ]);
  });

  it('bypass guard: a named targetPort landing on a port the policy does not allow drops the port', () => {
    // Service port 8080 targets "http" (8080 on the pod): policy allows 8080 → kept.
    const svc = (target: string) => [
      service('web', 'web', '10.100.0.10', { app: 'web' }, [{ port: 8080, targetPort: target }]),
    ];
    const ok = resolvePolicy(egressTo([{ port: 8080 }]), cluster(svc('http'))).egress;
    expect(ok[0]).toEqual({ cidr: '10.100.0.10', ports: [{ protocol: 'TCP', port: 8080 }] });
    // The pod maps "admin" to 9090, which the policy does not allow: the Service is skipped.
    const c = clusterView({
      namespaces: [namespace('client'), namespace('web', { team: 'web' })],
      pods: [
        pod(
          'web',
          'web-1',
          '192.168.2.2',
          { app: 'web' },
          { ports: [{ name: 'admin', containerPort: 9090 }] },
        ),
      ],
      services: [service('web', 'web', '10.100.0.10', { app: 'web' }, [{ port: 8080, targetPort: 'admin' }])],
    });
    expect(resolvePolicy(egressTo([{ port: 8080 }]), c).egress.map((x) => x.cidr)).toEqual(['192.168.2.2']);
  });

  it('endPort is copied onto the listen port unchanged', () => {
    expect(resolvePolicy(egressTo([{ port: 8080, endPort: 8090 }]), cluster()).egress[0]).toEqual({
      cidr: '10.100.0.10',
      ports: [{ protocol: 'TCP', port: 80, endPort: 8090 }],
    });
  });

  it('ipBlock peers never get ClusterIPs', () => {
    const np = policy('client', 'p', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '192.168.0.0/16' } }] }],
    });
    expect(resolvePolicy(np, cluster()).egress).toEqual([{ cidr: '192.168.0.0/16' }]);
  });
});
