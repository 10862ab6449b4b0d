// Invariants of the PE plan over random desired sets, stored PEs and chunk sizes: after applying the plan the
// policy's PEs hold exactly the desired entries (each once), no list exceeds the chunk size, at least one PE
// exists, and planning again against the result writes nothing.
import type { PolicyEndpointSpec } from '@vpc-cni/shared/k8s';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ExistingEndpoint, planEndpoints } from './chunk.js';
import { entryKey, podKey } from './entries.js';
import type { DesiredPolicy } from './resolve.js';

const idx = fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 25 });

const desired = (pods: number[], ingress: number[], egress: number[], iso: boolean): DesiredPolicy => ({
  policyRef: { name: 'p', namespace: 'ns' },
  podSelector: {},
  podIsolation: iso ? ['Ingress', 'Egress'] : ['Ingress'],
  pods: pods.map((i) => ({ hostIP: '10.0.0.1', podIP: `192.168.0.${i}`, name: `pod${i}`, namespace: 'ns' })),
  ingress: ingress.map((i) => ({ cidr: `10.1.0.${i}`, ports: [{ protocol: 'TCP', port: 80 + (i % 3) }] })),
  egress: egress.map((i) => ({ cidr: `10.2.0.${i}` })),
});

function apply(
  stored: ExistingEndpoint[],
  plan: ReturnType<typeof planEndpoints>,
  seq: { n: number },
): ExistingEndpoint[] {
  const out = new Map(stored.map((e) => [e.name, e.spec] as const));
  for (const d of plan.delete) out.delete(d);
  for (const u of plan.update) out.set(u.name, u.spec);
  for (const c of plan.create) out.set(`p-${seq.n++}`, c);
  return [...out.entries()].map(([name, spec]) => ({ name, spec }));
}

const keys = (specs: PolicyEndpointSpec[]) => ({
  pods: specs.flatMap((s) => s.podSelectorEndpoints.map(podKey)).sort(),
  ingress: specs.flatMap((s) => s.ingress.map(entryKey)).sort(),
  egress: specs.flatMap((s) => s.egress.map(entryKey)).sort(),
});

describe('planEndpoints (property)', () => {
  it('converges to exactly the desired entries within the chunk limits, and is then stable', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(idx, idx, idx, fc.boolean()), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 6 }),
        (steps, chunk) => {
          let stored: ExistingEndpoint[] = [];
          const seq = { n: 0 };
          for (const [pods, ing, eg, iso] of steps) {
            const d = desired(pods, ing, eg, iso);
            stored = apply(stored, planEndpoints(d, stored, chunk), seq);
            expect(stored.length).toBeGreaterThanOrEqual(1);
            for (const { spec } of stored) {
              expect(spec.podSelectorEndpoints.length).toBeLessThanOrEqual(chunk);
              expect(spec.ingress.length).toBeLessThanOrEqual(chunk);
              expect(spec.egress.length).toBeLessThanOrEqual(chunk);
              expect(spec.podIsolation).toEqual(d.podIsolation);
            }
            expect(keys(stored.map((s) => s.spec))).toEqual(
              keys([{ ...d, podSelectorEndpoints: d.pods } as PolicyEndpointSpec]),
            );
            expect(planEndpoints(d, stored, chunk)).toEqual({ create: [], update: [], delete: [] });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
