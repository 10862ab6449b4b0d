import type { V1NetworkPolicyIngressRule } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { policy } from '../resolve/fixtures.js';
import { affectedPolicies } from './affected.js';

const local = policy('stars', 'local', { podSelector: {}, ingress: [{ _from: [{ podSelector: {} }] }] });
const nsSel = policy('other', 'ns-sel', {
  podSelector: {},
  ingress: [{ _from: [{ namespaceSelector: {} }] }],
});
const egress = policy('web', 'egress', { podSelector: {}, egress: [{ to: [{ podSelector: {} }] }] });
const all = [local, nsSel, egress];

describe('affectedPolicies', () => {
  it('pod: policies of its namespace and those with namespaceSelector peers', () => {
    expect(affectedPolicies({ kind: 'pod', namespace: 'stars' }, all)).toEqual([
      'stars/local',
      'other/ns-sel',
    ]);
  });
  it('namespace: only policies with namespaceSelector peers', () => {
    expect(affectedPolicies({ kind: 'namespace' }, all)).toEqual(['other/ns-sel']);
  });
  it('a policy in its wire form (as a watch event delivers it: `from`) is read the same', () => {
    const wireRule: unknown = { from: [{ namespaceSelector: {} }] }; // the wire's key
    const wire = policy('other', 'wire', {
      podSelector: {},
      ingress: [wireRule as V1NetworkPolicyIngressRule],
    });
    expect(affectedPolicies({ kind: 'namespace' }, [local, wire])).toEqual(['other/wire']);
  });
  it('service: policies with egress selector peers that can reach its namespace', () => {
    expect(affectedPolicies({ kind: 'service', namespace: 'web' }, all)).toEqual(['web/egress']);
    expect(affectedPolicies({ kind: 'service', namespace: 'stars' }, all)).toEqual([]);
  });
});
