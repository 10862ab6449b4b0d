// The case table checked against the reference evaluator of NetworkPolicy semantics: every step's expectations,
// expanded to the full who-reaches-whom matrix, must equal the evaluator's matrix for the same pods, labels and
// policies, so a hand-written cell cannot be wrong unnoticed. Also: the evaluator on a few hand-checked facts,
// and the table accounts for every case of the reference (run here or listed with the reason it is not).
import { describe, expect, it } from 'vitest';
import { CASES, EXTRAS, type ExtraRef, extraPod, FIXTURES, NOT_IN_LAB } from './cases.js';
import {
  cellsOf,
  expandExpectations,
  matrixDiff,
  np,
  npAllows,
  ref,
  referenceMatrix,
} from './np-reference.js';
import { stepWorld } from './world.js';

// Pods get 10.244.0.<n> (extra pods 10.244.1.<n>); other extras their fixed address, the lab node 10.0.1.10.
const fakeIp = (() => {
  const all = Object.values(FIXTURES).flatMap((f) => f.pods.map(ref));
  const extras = Object.keys(EXTRAS);
  return (r: string) => {
    if (r in EXTRAS) {
      const e = extraPod(r as ExtraRef);
      return e.ip ?? (e.kind === 'pod' ? `10.244.1.${extras.indexOf(r) + 2}` : '10.0.1.10');
    }
    if (!all.includes(r)) throw new Error(`no pod ${r}`);
    return `10.244.0.${all.indexOf(r) + 2}`;
  };
})();

describe('network policy case table', () => {
  for (const c of CASES)
    for (const [i, step] of c.steps.entries())
      it(`${c.id} step ${i + 1} (${step.what}): the expected matrix is the reference evaluator's`, () => {
        const w = stepWorld(c, step, fakeIp);
        const expected = expandExpectations(w.pods, step.probes, step.expect);
        const reference = referenceMatrix(w, step.probes);
        expect(expected.size).toBe(cellsOf(w.pods, step.probes).length);
        expect(expected.size).toBeGreaterThan(0);
        expect(matrixDiff(reference, expected)).toEqual([]);
      });

  it('every case of the reference is either run or listed with its reason', () => {
    const ids = [...CASES.map((c) => c.id), ...NOT_IN_LAB.map((n) => n.id)];
    const missing = Array.from({ length: 42 }, (_, i) => `T${i + 1}`).filter((t) => !ids.includes(t));
    expect(missing).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('the evaluator: peers, ports, policy types and the union of policies', () => {
    const pod = (namespace: string, name: string, ip: string) => ({
      namespace,
      name,
      ip,
      labels: { pod: name },
      ports: [{ name: 'web', containerPort: 8080, protocol: 'TCP' as const }],
    });
    const a = pod('x', 'a', '10.0.0.1');
    const b = pod('x', 'b', '10.0.0.2');
    const yb = pod('y', 'b', '10.0.0.3');
    const w = (policies: ReturnType<typeof np>[]) => ({
      namespaces: { x: { ns: 'x' }, y: { ns: 'y' } },
      pods: [a, b, yb],
      policies,
    });
    const sel = { matchLabels: { pod: 'a' } };
    const fromB = np('x', 'p', {
      podSelector: sel,
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
    });
    expect(npAllows(w([]), b, a, 'icmp')).toBe(true);
    expect(npAllows(w([fromB]), b, a, 'tcp/1')).toBe(true);
    expect(npAllows(w([fromB]), yb, a, 'tcp/1')).toBe(false); // podSelector alone: the policy's namespace
    expect(npAllows(w([fromB]), a, yb, 'tcp/1')).toBe(true); // ingress-only: egress of a open
    const named = np('x', 'n', { podSelector: sel, ingress: [{ ports: [{ port: 'web' }] }] });
    expect(npAllows(w([named]), b, a, 'tcp/8080')).toBe(true);
    expect(npAllows(w([named]), b, a, 'tcp/80')).toBe(false);
    expect(npAllows(w([named]), b, a, 'udp/8080')).toBe(false);
    const egressOnly = np('x', 'e', { podSelector: sel, policyTypes: ['Egress'] });
    expect(npAllows(w([egressOnly]), a, b, 'tcp/80')).toBe(false);
    expect(npAllows(w([egressOnly]), b, a, 'tcp/80')).toBe(true);
    const block = np('x', 'i', {
      podSelector: sel,
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.3/32'] } }] }],
    });
    expect(npAllows(w([block]), b, a, 'tcp/80')).toBe(true);
    expect(npAllows(w([block]), yb, a, 'tcp/80')).toBe(false);
    expect(npAllows(w([block, fromB]), b, a, 'tcp/80')).toBe(true);
    const range = np('x', 'r', { podSelector: sel, ingress: [{ ports: [{ port: 80, endPort: 81 }] }] });
    expect([79, 80, 81, 82].map((p) => npAllows(w([range]), b, a, `tcp/${p}`))).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('the evaluator: Services, host-network pods, outside addresses, and which cells a matrix has', () => {
    const pod = (namespace: string, name: string, ip: string) => ({
      namespace,
      name,
      ip,
      labels: { pod: name },
      ports: [],
    });
    const a = pod('x', 'a', '10.244.0.2');
    const b = pod('x', 'b', '10.244.0.3');
    const svcB = {
      ...pod('x', 'svc-b', '10.96.0.12'),
      kind: 'service' as const,
      service: {
        selector: { pod: 'b' },
        ports: [{ port: 8080, targetPort: 80, protocol: 'TCP' as const }],
        backend: 'x/b',
      },
    };
    const local = { ...pod('x', 'h', '10.0.1.10'), kind: 'host' as const, localNode: true };
    const remote = { ...pod('x', 'r', '10.0.2.10'), kind: 'host' as const, localNode: false };
    const out = { ...pod('ext', 'o', '172.31.0.1'), kind: 'outside' as const, labels: {} };
    const w = (policies: ReturnType<typeof np>[]) => ({
      namespaces: { x: {} },
      pods: [a, b, svcB, local, remote, out],
      policies,
    });
    const egressB = (port: number) =>
      np('x', 'e', {
        podSelector: { matchLabels: { pod: 'a' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port }] }],
      });
    // To a Service: the policy's port is the target port; the listen port is what is probed.
    expect(npAllows(w([egressB(80)]), a, svcB, 'tcp/8080')).toBe(true);
    expect(npAllows(w([egressB(8080)]), a, svcB, 'tcp/8080')).toBe(false);
    const cidr = np('x', 'c', {
      podSelector: { matchLabels: { pod: 'a' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16' } }] }],
    });
    expect(npAllows(w([cidr]), a, b, 'tcp/80')).toBe(true);
    expect(npAllows(w([cidr]), a, svcB, 'tcp/8080')).toBe(false); // an ipBlock never gets ClusterIPs
    expect(npAllows(w([cidr]), a, out, 'tcp/80')).toBe(false);
    expect(npAllows(w([cidr]), a, local, 'tcp/80')).toBe(true); // the node's own address
    expect(npAllows(w([cidr]), a, remote, 'tcp/80')).toBe(false);
    // Ingress judged at the backend of a Service.
    const bOnlyFromH = np('x', 'i', {
      podSelector: { matchLabels: { pod: 'b' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'r' } } }] }],
    });
    expect(npAllows(w([bOnlyFromH]), a, svcB, 'tcp/8080')).toBe(false);
    expect(npAllows(w([bOnlyFromH]), remote, b, 'tcp/80')).toBe(true); // a host-network peer, by label
    expect(npAllows(w([bOnlyFromH]), local, b, 'tcp/80')).toBe(true); // the lab node, always
    expect(npAllows(w([bOnlyFromH]), out, b, 'tcp/80')).toBe(false);
    // Cells: no Service sources, Services only from pods other than the backend, on their ports; no pair
    // without a pod.
    const cells = cellsOf(w([]).pods, ['tcp/80', 'tcp/8080']).map(
      (c) => `${ref(c.src)}>${ref(c.dst)} ${c.probe}`,
    );
    expect(cells.filter((c) => c.startsWith('x/svc-b'))).toEqual([]);
    expect(cells.filter((c) => c.includes('>x/svc-b'))).toEqual(['x/a>x/svc-b tcp/8080']);
    expect(cells).not.toContain('x/h>ext/o tcp/80');
    expect(cells).toContain('ext/o>x/a tcp/80');
  });

  it('the evaluator: lookups through the cluster DNS, Services by name', () => {
    const pod = (namespace: string, name: string, ip: string, labels: Record<string, string>) => ({
      namespace,
      name,
      ip,
      labels,
      ports: [],
    });
    const a = pod('x', 'a', '10.244.0.2', { pod: 'a' });
    const b = pod('x', 'b', '10.244.0.3', { pod: 'b' });
    const coredns = { ...pod('kube-system', 'coredns', '10.244.0.4', { 'k8s-app': 'kube-dns' }), dns: true };
    const svcOf = (name: string, ip: string, backend: string, sel: Record<string, string>, port: number) => ({
      ...pod(backend.split('/')[0]!, name, ip, {}),
      kind: 'service' as const,
      service: {
        selector: sel,
        ports: (['UDP', 'TCP'] as const).map((protocol) => ({
          port,
          targetPort: port === 53 ? 53 : 80,
          protocol,
        })),
        backend,
      },
    });
    const kubeDns = {
      ...svcOf('kube-dns', '10.96.0.10', 'kube-system/coredns', { 'k8s-app': 'kube-dns' }, 53),
      dns: true,
    };
    const svcB = svcOf('svc-b', '10.96.0.12', 'x/b', { pod: 'b' }, 8080);
    const w = (policies: ReturnType<typeof np>[]) => ({
      namespaces: { x: {}, 'kube-system': { 'kubernetes.io/metadata.name': 'kube-system' } },
      pods: [a, b, coredns, kubeDns, svcB],
      policies,
    });
    const egress = (...rules: { to: object[]; ports: object[] }[]) =>
      np('x', 'e', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: rules });
    const toB = {
      to: [{ podSelector: { matchLabels: { pod: 'b' } } }],
      ports: [{ protocol: 'TCP', port: 80 }],
    };
    const toDns = (protocol: string) => ({
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        },
      ],
      ports: [{ protocol, port: 53 }],
    });
    // A lookup is its protocol on 53 to the DNS server; by name: the UDP lookup AND the connect.
    const both = w([egress(toB, toDns('UDP'))]);
    expect(npAllows(both, a, kubeDns, 'dns-udp/53')).toBe(true);
    expect(npAllows(both, a, kubeDns, 'dns-tcp/53')).toBe(false);
    expect(npAllows(both, a, svcB, 'name-tcp/8080')).toBe(true);
    expect(npAllows(w([egress(toB)]), a, svcB, 'name-tcp/8080')).toBe(false); // no lookup
    expect(npAllows(w([egress(toB)]), a, svcB, 'tcp/8080')).toBe(true);
    expect(npAllows(w([egress(toDns('UDP'))]), a, svcB, 'name-tcp/8080')).toBe(false); // no connect
    // Cells: lookups only to DNS servers, names only of Services and not from the DNS backend (hairpin).
    const cells = cellsOf(w([]).pods, ['dns-udp/53', 'name-tcp/8080']).map(
      (c) => `${ref(c.src)}>${ref(c.dst)} ${c.probe}`,
    );
    expect(cells.filter((c) => c.startsWith('x/a>'))).toEqual([
      'x/a>kube-system/coredns dns-udp/53',
      'x/a>kube-system/kube-dns dns-udp/53',
      'x/a>x/svc-b name-tcp/8080',
    ]);
    expect(cells.filter((c) => c.startsWith('kube-system/coredns>'))).toEqual([]);
    expect(() => npAllows({ ...both, pods: [a, svcB] }, a, svcB, 'name-tcp/8080')).toThrow(/cluster DNS/);
  });
});
