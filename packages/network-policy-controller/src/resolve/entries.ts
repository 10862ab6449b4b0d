// EndpointInfo identity and merging (README: "Chunking"): entries with the same cidr and the same except set are
// one entry; if either allows all ports the merge does, else it carries the union of ports.
import type { EndpointInfo, PodEndpoint } from '@vpc-cni/shared/k8s';
import { uniquePorts } from './ports.js';

/** Canonical form: except sorted and de-duplicated, ports sorted; empty lists omitted. */
export function normalizeEntry(e: EndpointInfo): EndpointInfo {
  const out: EndpointInfo = {};
  if (e.cidr !== undefined) out.cidr = e.cidr;
  if (e.domainName !== undefined) out.domainName = e.domainName;
  const except = [...new Set(e.except ?? [])].sort();
  if (except.length > 0) out.except = except;
  const ports = uniquePorts(e.ports ?? []);
  if (ports.length > 0) out.ports = ports;
  return out;
}

const target = (e: EndpointInfo): string =>
  `${e.cidr ?? ''}|${e.domainName ?? ''}|${(e.except ?? []).join(',')}`;

/** Identity of a whole entry (its target and its ports), for set comparisons. */
export const entryKey = (e: EndpointInfo): string => JSON.stringify(normalizeEntry(e));

export const podKey = (p: PodEndpoint): string => `${p.namespace}/${p.name}/${p.podIP}/${p.hostIP}`;

/** Entries merged per target (cidr + except), in a stable order. Entries without a cidr or domain are dropped. */
export function mergeEntries(entries: readonly EndpointInfo[]): EndpointInfo[] {
  const m = new Map<string, { e: EndpointInfo; all: boolean }>();
  for (const raw of entries) {
    if (!raw.cidr && !raw.domainName) continue;
    const e = normalizeEntry(raw);
    const k = target(e);
    const prev = m.get(k);
    const all = !e.ports || e.ports.length === 0;
    if (!prev) {
      m.set(k, { e, all });
      continue;
    }
    prev.all = prev.all || all;
    prev.e = normalizeEntry({
      ...prev.e,
      ports: prev.all ? [] : [...(prev.e.ports ?? []), ...(e.ports ?? [])],
    });
  }
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v.e);
}
