// NetworkPolicy objects reach the controller in two shapes: lists go through client-node's model (an ingress
// rule's peers are `_from`, `from` being reserved there), watch events are the API's JSON (`from`). Every reader
// of ingress peers goes through this function so both shapes mean the same policy.
import type { V1NetworkPolicyIngressRule, V1NetworkPolicyPeer } from '@kubernetes/client-node';

export function ingressPeers(rule: V1NetworkPolicyIngressRule): V1NetworkPolicyPeer[] {
  return rule._from ?? (rule as { from?: V1NetworkPolicyPeer[] }).from ?? [];
}
