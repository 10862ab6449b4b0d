// Desired content + the policy's existing PolicyEndpoints → the writes that make them agree (README: "Chunking").
// Entries still present stay where they are; new entries top up kept PEs first, then reuse emptied PEs, then go
// into new PEs; every list of one PE holds at most `chunkSize` entries; a policy always keeps at least one PE; an
// unchanged PE is not written.
import type { EndpointInfo, PodEndpoint, PolicyEndpointSpec } from '@vpc-cni/shared/k8s';
import { entryKey, normalizeEntry, podKey } from './entries.js';
import type { DesiredPolicy } from './resolve.js';

/** An existing PolicyEndpoint of the policy: its name and spec as stored. */
export interface ExistingEndpoint {
  name: string;
  spec: PolicyEndpointSpec;
}

export interface EndpointPlan {
  create: PolicyEndpointSpec[];
  update: ExistingEndpoint[];
  delete: string[];
}

type ListName = 'podSelectorEndpoints' | 'ingress' | 'egress';
const LISTS: readonly ListName[] = ['podSelectorEndpoints', 'ingress', 'egress'];

interface Work {
  name?: string;
  before?: PolicyEndpointSpec;
  spec: PolicyEndpointSpec;
}

function keyOf(list: ListName, e: PodEndpoint | EndpointInfo): string {
  return list === 'podSelectorEndpoints' ? podKey(e as PodEndpoint) : entryKey(e as EndpointInfo);
}

const desiredList = (d: DesiredPolicy, list: ListName): (PodEndpoint | EndpointInfo)[] =>
  list === 'podSelectorEndpoints' ? d.pods : list === 'ingress' ? d.ingress : d.egress;

const total = (s: PolicyEndpointSpec): number =>
  s.podSelectorEndpoints.length + s.ingress.length + s.egress.length;

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/** Semantic equality of two specs: lists compared as unordered sets (ports and except too). */
export function sameSpec(a: PolicyEndpointSpec, b: PolicyEndpointSpec): boolean {
  if (a.policyRef.name !== b.policyRef.name || a.policyRef.namespace !== b.policyRef.namespace) return false;
  if (!sameSet(a.podIsolation, b.podIsolation)) return false;
  return LISTS.every((l) =>
    sameSet(
      (a[l] as (PodEndpoint | EndpointInfo)[]).map((e) => keyOf(l, e)),
      (b[l] as (PodEndpoint | EndpointInfo)[]).map((e) => keyOf(l, e)),
    ),
  );
}

function setList(spec: PolicyEndpointSpec, list: ListName, items: (PodEndpoint | EndpointInfo)[]): void {
  if (list === 'podSelectorEndpoints') spec.podSelectorEndpoints = items as PodEndpoint[];
  else spec[list] = (items as EndpointInfo[]).map(normalizeEntry);
}

/** The plan for one policy. `existing` are the PEs owned by it; `chunkSize` ≥ 1 caps each list of one PE. */
export function planEndpoints(
  desired: DesiredPolicy,
  existing: readonly ExistingEndpoint[],
  chunkSize: number,
): EndpointPlan {
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new Error(`chunk size must be ≥ 1, got ${chunkSize}`);
  const sorted = [...existing].sort((a, b) => a.name.localeCompare(b.name));
  const base = (podSelector: PolicyEndpointSpec['podSelector']): PolicyEndpointSpec => ({
    policyRef: { ...desired.policyRef },
    ...(podSelector ? { podSelector } : {}),
    podIsolation: [...desired.podIsolation],
    podSelectorEndpoints: [],
    ingress: [],
    egress: [],
  });
  // 1. Keep what is still desired where it is (each entry once across PEs).
  const work: Work[] = sorted.map((pe) => ({
    name: pe.name,
    before: pe.spec,
    spec: base(pe.spec.podSelector),
  }));
  const toPlace = new Map<ListName, Map<string, PodEndpoint | EndpointInfo>>();
  for (const l of LISTS) {
    const want = new Map(desiredList(desired, l).map((e) => [keyOf(l, e), e] as const));
    for (const w of work) {
      const kept: (PodEndpoint | EndpointInfo)[] = [];
      for (const e of (w.before?.[l] ?? []) as (PodEndpoint | EndpointInfo)[]) {
        const k = keyOf(l, e);
        const d = want.get(k);
        if (d && kept.length < chunkSize) {
          kept.push(d);
          want.delete(k);
        }
      }
      setList(w.spec, l, kept);
    }
    toPlace.set(l, want);
  }
  // 2. Order of filling: kept PEs, then emptied ones (delete candidates), then new ones.
  const kept = work.filter((w) => total(w.spec) > 0);
  const candidates = work.filter((w) => total(w.spec) === 0);
  const fill = [...kept, ...candidates];
  for (const l of LISTS) {
    const rest = [...(toPlace.get(l)?.values() ?? [])];
    let i = 0;
    for (const w of fill) {
      const cur = [...(w.spec[l] as (PodEndpoint | EndpointInfo)[])];
      while (cur.length < chunkSize && i < rest.length) cur.push(rest[i++]!);
      setList(w.spec, l, cur);
      if (i >= rest.length) break;
    }
    while (i < rest.length) {
      const w: Work = { spec: base(desired.podSelector) };
      setList(w.spec, l, rest.slice(i, i + chunkSize));
      i += chunkSize;
      fill.push(w);
    }
  }
  // 3. Emptied PEs that got nothing are deleted, but a policy always keeps one PE.
  let used = fill.filter((w) => total(w.spec) > 0);
  if (used.length === 0) used = [fill[0] ?? { spec: base(desired.podSelector) }];
  const usedSet = new Set(used);
  const plan: EndpointPlan = { create: [], update: [], delete: [] };
  for (const w of fill) {
    if (!usedSet.has(w)) {
      if (w.name) plan.delete.push(w.name);
    } else if (!w.name) plan.create.push(w.spec);
    else if (!w.before || !sameSpec(w.before, w.spec)) plan.update.push({ name: w.name, spec: w.spec });
  }
  if (used.length === 1 && !used[0]!.name && !fill.includes(used[0]!)) plan.create.push(used[0]!.spec);
  return plan;
}
