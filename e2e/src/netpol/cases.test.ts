// The case table checked against the reference evaluator of NetworkPolicy semantics: every step's expectations,
// expanded to the full who-reaches-whom matrix, must equal the evaluator's matrix for the same pods, labels and
// policies, so a hand-written cell cannot be wrong unnoticed. Also: the evaluator on a few hand-checked facts,
// and the table accounts for every case of the reference (run here or listed with the reason it is not).
import { describe, expect, it } from 'vitest';
import { CASES, FIXTURES, NOT_IN_LAB } from './cases.js';
import { expandExpectations, matrixDiff, np, npAllows, ref, referenceMatrix } from './np-reference.js';
import { stepWorld } from './world.js';

const fakeIp = (() => {
  const all = Object.values(FIXTURES).flatMap((f) => f.pods.map(ref));
  return (r: string) => `10.244.0.${all.indexOf(r) + 2}`;
})();

describe('network policy case table', () => {
  for (const c of CASES)
    for (const [i, step] of c.steps.entries())
      it(`${c.id} step ${i + 1} (${step.what}): the expected matrix is the reference evaluator's`, () => {
        const w = stepWorld(c, step, fakeIp);
        const expected = expandExpectations(w.pods, step.probes, step.expect);
        const reference = referenceMatrix(w, step.probes);
        expect(expected.size).toBe(w.pods.length * (w.pods.length - 1) * step.probes.length);
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
});
