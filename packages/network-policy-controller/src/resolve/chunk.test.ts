import type { EndpointInfo, PodEndpoint } from '@vpc-cni/shared/k8s';
import { describe, expect, it } from 'vitest';
import { type ExistingEndpoint, planEndpoints } from './chunk.js';
import type { DesiredPolicy } from './resolve.js';

const pe = (i: number): PodEndpoint => ({
  hostIP: '10.0.0.1',
  podIP: `192.168.0.${i}`,
  name: `p${i}`,
  namespace: 'ns',
});
const ip = (i: number): EndpointInfo => ({ cidr: `10.1.0.${i}`, ports: [{ protocol: 'TCP', port: 80 }] });
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);

const desired = (pods: number[], ingress: number[], egress: number[] = []): DesiredPolicy => ({
  policyRef: { name: 'web', namespace: 'ns' },
  podSelector: { matchLabels: { app: 'web' } },
  podIsolation: ['Ingress'],
  pods: pods.map(pe),
  ingress: ingress.map(ip),
  egress: egress.map(ip),
});

describe('planEndpoints', () => {
  it('a new policy with nothing resolved still gets one (empty) PE', () => {
    const plan = planEndpoints(desired([], []), [], 200);
    expect(plan.update).toEqual([]);
    expect(plan.delete).toEqual([]);
    expect(plan.create).toEqual([
      {
        policyRef: { name: 'web', namespace: 'ns' },
        podSelector: { matchLabels: { app: 'web' } },
        podIsolation: ['Ingress'],
        podSelectorEndpoints: [],
        ingress: [],
        egress: [],
      },
    ]);
  });

  it('each list of one PE holds at most the chunk size', () => {
    const plan = planEndpoints(desired(range(5), range(3), range(7)), [], 2);
    expect(plan.create.length).toBe(4);
    for (const s of plan.create) {
      expect(s.podSelectorEndpoints.length).toBeLessThanOrEqual(2);
      expect(s.ingress.length).toBeLessThanOrEqual(2);
      expect(s.egress.length).toBeLessThanOrEqual(2);
    }
    expect(plan.create.flatMap((s) => s.egress.map((e) => e.cidr))).toEqual(
      range(7).map((i) => `10.1.0.${i}`),
    );
  });

  it('unchanged PEs are not written (order in the stored object does not matter)', () => {
    const first = planEndpoints(desired(range(3), range(3)), [], 200);
    const stored: ExistingEndpoint[] = first.create.map((spec, i) => ({
      name: `web-${i}`,
      spec: {
        ...spec,
        ingress: [...spec.ingress].reverse(),
        podSelectorEndpoints: [...spec.podSelectorEndpoints].reverse(),
      },
    }));
    expect(planEndpoints(desired(range(3), range(3)), stored, 200)).toEqual({
      create: [],
      update: [],
      delete: [],
    });
  });

  it('a changed entry updates only the PE that holds it; an emptied PE is reused before creating', () => {
    const stored: ExistingEndpoint[] = planEndpoints(desired(range(4), []), [], 2).create.map((spec, i) => ({
      name: `web-${i}`,
      spec,
    }));
    // Pod 3 goes away, pod 9 arrives: web-1 (p2, p3) changes, web-0 (p0, p1) does not.
    const plan = planEndpoints(desired([0, 1, 2, 9], []), stored, 2);
    expect(plan.create).toEqual([]);
    expect(plan.delete).toEqual([]);
    expect(plan.update.map((u) => [u.name, u.spec.podSelectorEndpoints.map((p) => p.name)])).toEqual([
      ['web-1', ['p2', 'p9']],
    ]);
    // Everything moves: the emptied PE gets reused, the other is deleted.
    const moved = planEndpoints(desired([7], []), stored, 2);
    expect(moved.create).toEqual([]);
    expect(moved.update.map((u) => u.name)).toEqual(['web-0']);
    expect(moved.delete).toEqual(['web-1']);
  });

  it('the last PE is kept (emptied) when nothing is desired any more; podSelector kept as created', () => {
    const stored: ExistingEndpoint[] = [
      {
        name: 'web-a',
        spec: {
          ...planEndpoints(desired([1], [1]), [], 200).create[0]!,
          podSelector: { matchLabels: { old: 'x' } },
        },
      },
    ];
    const plan = planEndpoints({ ...desired([], []), podIsolation: ['Ingress', 'Egress'] }, stored, 200);
    expect(plan.delete).toEqual([]);
    expect(plan.update).toEqual([
      {
        name: 'web-a',
        spec: {
          policyRef: { name: 'web', namespace: 'ns' },
          podSelector: { matchLabels: { old: 'x' } },
          podIsolation: ['Ingress', 'Egress'],
          podSelectorEndpoints: [],
          ingress: [],
          egress: [],
        },
      },
    ]);
  });

  it('an isolation change alone rewrites every PE of the policy', () => {
    const stored = planEndpoints(desired(range(3), []), [], 1).create.map((spec, i) => ({
      name: `web-${i}`,
      spec,
    }));
    const plan = planEndpoints({ ...desired(range(3), []), podIsolation: ['Egress'] }, stored, 1);
    expect(plan.update.map((u) => u.name)).toEqual(['web-0', 'web-1', 'web-2']);
  });

  it('refuses a chunk size below 1', () => {
    expect(() => planEndpoints(desired([], []), [], 0)).toThrow(/chunk size must be ≥ 1, got 0/);
  });
});
