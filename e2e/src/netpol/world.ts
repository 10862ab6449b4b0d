// A case step's world: the fixture's namespaces (and those of the extras) and the case's endpoints (fixture pods,
// then extras) with the step's label overrides, addresses, and the step's policies. Shared by the pure check
// (cases.test.ts) and the kernel runner (cases.kernel.test.ts).
import { type CaseStep, casePods, EXTRA_NAMESPACES, FIXTURES, type NpCase } from './case-kit.js';
import { ref, type World } from './np-reference.js';

export function stepWorld(c: NpCase, step: CaseStep, ipOf: (podRef: string) => string): World {
  const f = FIXTURES[c.fixture];
  const namespaces = Object.fromEntries(
    Object.entries({ ...EXTRA_NAMESPACES, ...f.namespaces }).map(([n, l]) => [
      n,
      { ...l, ...step.namespaceLabels?.[n] },
    ]),
  );
  const pods = casePods(c).map((p) => ({
    ...p,
    labels: { ...p.labels, ...step.podLabels?.[ref(p)] },
    ip: ipOf(ref(p)),
  }));
  return { namespaces, pods, policies: step.policies(ipOf) };
}
