// A reference evaluator of NetworkPolicy semantics for one pod and one direction, straight from the rules
// (not from compiled maps): allowed if no policy isolates the direction, or the remote is the node, or some rule's
// CIDR holds the remote, none of that rule's excepts does, and one of its ports (or no ports) matches.
import { cidrContains, familyOf, parseCidr } from '@vpc-cni/shared/ipmath';
import { PROTO_ANY } from '../datapath/contract.js';
import { portRange } from './ports.js';
import type { DirectionPolicy, PolicyRule } from './types.js';

function ruleAllows(r: PolicyRule, remoteIp: string, protocol: number, dport: number): boolean {
  if (!cidrContains(parseCidr(r.cidr), remoteIp)) return false;
  if (
    r.except.some(
      (e) => familyOf(e.split('/')[0]!) === familyOf(remoteIp) && cidrContains(parseCidr(e), remoteIp),
    )
  )
    return false;
  if (r.ports.length === 0) return true;
  return r.ports.some((p) => {
    const range = portRange(p);
    if ('error' in range) return false;
    if (range.protocol !== PROTO_ANY && range.protocol !== protocol) return false;
    return dport >= range.lo && dport <= range.hi;
  });
}

export function referenceAllows(
  d: DirectionPolicy,
  nodeIp: string,
  remoteIp: string,
  protocol: number,
  dport: number,
): boolean {
  if (!d.isolated) return true;
  if (remoteIp === nodeIp) return true;
  return d.rules.some((r) => ruleAllows(r, remoteIp, protocol, dport));
}
