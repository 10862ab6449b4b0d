// Every PolicyEndpoint of the cluster, indexed by policy and by selected pod. Pure: PE events in, the pods whose
// rules may have changed out; `podPolicy` derives what the policies selecting one pod say. A pod is selected by a
// policy when any PE of that policy lists it (a policy's rules and pods may be spread over several PEs).
import { selectorMatches } from '@vpc-cni/shared/k8s';
import type { Direction } from '../datapath/contract.js';
import type { PolicyEndpoint } from '../k8s/policy-endpoint.js';
import type { DirectionPolicy, PodPolicy, PolicyRule } from '../policy/types.js';

/** `namespace/name` of a pod. */
export type PodRef = string;
export const podRef = (namespace: string, name: string): PodRef => `${namespace}/${name}`;

export interface PodPlacement {
  hostIP: string;
  podIP: string;
}

export class PolicyIndex {
  private readonly pes = new Map<string, PolicyEndpoint>();
  private readonly byPolicy = new Map<string, Set<string>>();
  private readonly podPolicies = new Map<PodRef, Set<string>>();

  get size(): number {
    return this.pes.size;
  }

  /** Adds or replaces a PE; returns the pods selected by its policy before or after. */
  upsert(pe: PolicyEndpoint): Set<PodRef> {
    const key = `${pe.namespace}/${pe.name}`;
    const old = this.pes.get(key);
    const policies = new Set([pe.policy, ...(old ? [old.policy] : [])]);
    const before = this.podsOfPolicies(policies);
    if (old) this.byPolicy.get(old.policy)?.delete(key);
    this.pes.set(key, pe);
    let set = this.byPolicy.get(pe.policy);
    if (!set) this.byPolicy.set(pe.policy, (set = new Set()));
    set.add(key);
    return this.reindex(policies, before);
  }

  /** Removes a PE; returns the pods its policy selected before or selects after. */
  remove(namespace: string, name: string): Set<PodRef> {
    const key = `${namespace}/${name}`;
    const old = this.pes.get(key);
    if (!old) return new Set();
    const policies = new Set([old.policy]);
    const before = this.podsOfPolicies(policies);
    this.pes.delete(key);
    const set = this.byPolicy.get(old.policy);
    set?.delete(key);
    if (set?.size === 0) this.byPolicy.delete(old.policy);
    return this.reindex(policies, before);
  }

  /** Every PE currently known (for a full resync). */
  keys(): string[] {
    return [...this.pes.keys()];
  }

  /** Policies (`namespace/name`) selecting the pod, sorted. */
  policiesOf(pod: PodRef): string[] {
    return [...(this.podPolicies.get(pod) ?? [])].sort();
  }

  /** Where the PEs say the pod runs (the last PE listing it wins; all list the same pod status). */
  placement(pod: PodRef): PodPlacement | undefined {
    for (const policy of this.policiesOf(pod))
      for (const pe of this.pesOf(policy))
        for (const p of pe.pods)
          if (podRef(p.namespace, p.name) === pod) return { hostIP: p.hostIP, podIP: p.podIP };
    return undefined;
  }

  /** Pods listed with this host IP (host-network pods, podIP == hostIP, are never listed). */
  podsOnHost(hostIP: string): PodRef[] {
    const out = new Set<PodRef>();
    for (const pe of this.pes.values())
      for (const p of pe.pods)
        if (p.hostIP === hostIP && p.podIP !== p.hostIP) out.add(podRef(p.namespace, p.name));
    return [...out].sort();
  }

  /** What the policies selecting the pod say; undefined when no policy selects it. */
  podPolicy(pod: PodRef): PodPolicy | undefined {
    const policies = this.policiesOf(pod);
    if (policies.length === 0) return undefined;
    const dir = (d: Direction): DirectionPolicy => {
      const rules: PolicyRule[] = [];
      let isolated = false;
      for (const policy of policies)
        for (const pe of this.pesOf(policy)) {
          if (pe.podIsolation.includes(d === 'ingress' ? 'Ingress' : 'Egress')) isolated = true;
          for (const e of d === 'ingress' ? pe.ingress : pe.egress) {
            // Entries with only a domain name are not enforced by this agent (package README).
            if (e.cidr === undefined) continue;
            rules.push({
              cidr: e.cidr,
              except: e.except ?? [],
              ports: (e.ports ?? []).map((p) => ({
                ...(p.protocol !== undefined ? { protocol: p.protocol } : {}),
                ...(p.port !== undefined ? { port: p.port } : {}),
                ...(p.endPort !== undefined ? { endPort: p.endPort } : {}),
              })),
              policy,
            });
          }
        }
      return { isolated: isolated || rules.length > 0, rules };
    };
    return { ingress: dir('ingress'), egress: dir('egress') };
  }

  /**
   * Directions a policy of the pod's namespace isolates for it, judged by the policy's `podSelector` against the
   * pod's labels, while no PE of that policy lists the pod yet (the controller writes one policy's PEs at a time;
   * README "Strict mode"). A policy whose PEs carry no podSelector is never counted.
   */
  awaitedDirections(pod: PodRef, labels: Readonly<Record<string, string>>): Direction[] {
    const ns = pod.slice(0, pod.indexOf('/'));
    const listed = this.podPolicies.get(pod);
    const out = new Set<Direction>();
    for (const [policy, keys] of this.byPolicy) {
      if (!policy.startsWith(`${ns}/`) || listed?.has(policy)) continue;
      for (const k of keys) {
        const pe = this.pes.get(k);
        if (!pe?.podSelector || !selectorMatches(pe.podSelector, labels)) continue;
        if (pe.podIsolation.includes('Ingress')) out.add('ingress');
        if (pe.podIsolation.includes('Egress')) out.add('egress');
      }
    }
    return [...out].sort();
  }

  /** The PEs of one policy, by name. */
  pesOf(policy: string): PolicyEndpoint[] {
    return [...(this.byPolicy.get(policy) ?? [])].sort().flatMap((k) => this.pes.get(k) ?? []);
  }

  private podsOfPolicies(policies: Set<string>): Set<PodRef> {
    const out = new Set<PodRef>();
    for (const policy of policies)
      for (const pe of this.pesOf(policy))
        for (const p of pe.pods) if (p.podIP !== p.hostIP) out.add(podRef(p.namespace, p.name));
    return out;
  }

  private reindex(policies: Set<string>, before: Set<PodRef>): Set<PodRef> {
    const after = this.podsOfPolicies(policies);
    for (const pod of before) {
      const set = this.podPolicies.get(pod);
      for (const p of policies) set?.delete(p);
      if (set?.size === 0) this.podPolicies.delete(pod);
    }
    for (const policy of policies)
      for (const pe of this.pesOf(policy))
        for (const p of pe.pods) {
          if (p.podIP === p.hostIP) continue;
          const ref = podRef(p.namespace, p.name);
          let set = this.podPolicies.get(ref);
          if (!set) this.podPolicies.set(ref, (set = new Set()));
          set.add(policy);
        }
    return new Set([...before, ...after]);
  }
}
