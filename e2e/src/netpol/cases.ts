// The network policy test cases as data (docs/network-policy-cases.md): for each case the pods and labels it
// runs on, the NetworkPolicy objects in force at each step, the probes, and the expected verdicts written in the
// case's own notation (`x/* → x/a` ✗ ...; every pair not mentioned is allowed). cases.test.ts expands them into
// full who-reaches-whom matrices and checks them against the reference evaluator (np-reference.ts);
// cases.kernel.test.ts runs them through the real controller and agent with real probes. Cases that this lab
// cannot express are listed in NOT_IN_LAB with the reason. The cases themselves are in cases-*.ts.
import { type NpCase } from './case-kit.js';
import { BASIC_CASES } from './cases-basic.js';
import { CHANGE_CASES } from './cases-changes.js';
import { EDGE_CASES } from './cases-edges.js';

export * from './case-kit.js';

export const CASES: NpCase[] = [...BASIC_CASES, ...CHANGE_CASES, ...EDGE_CASES];

/** Cases of the behaviour reference this lab does not run, with the reason. */
export const NOT_IN_LAB: { id: string; why: string }[] = [
  {
    id: 'T24',
    why: 'Deployment scaling: covered at the agent level by agent-enforce.kernel.test.ts (strict first packet)',
  },
  { id: 'T25', why: 'strict mode: covered at the agent level by agent-enforce.kernel.test.ts' },
  { id: 'T26', why: 'strict mode second replica: agent level, not a matrix' },
  {
    id: 'T28',
    why: 'established connection re-evaluation, both orders: a conntrack test of the datapath (datapath.kernel.test.ts)',
  },
  {
    id: 'T29',
    why: 'a request in flight when a policy lands: a conntrack test of the datapath (datapath.kernel.test.ts)',
  },
  {
    id: 'T32',
    why: 'IPv6 cluster: the lab is IPv4; run through containerd in scenarios/netpol-ipv6.ts',
  },
  { id: 'T34', why: 'pod names with dots: identity hashing is unit-tested in the agent' },
  { id: 'T35', why: 'ClusterNetworkPolicy: the controller does not resolve CNPs yet (its README)' },
  { id: 'T36', why: 'ClusterNetworkPolicy: not in the controller' },
  { id: 'T37', why: 'ClusterNetworkPolicy: not in the controller' },
  { id: 'T38', why: 'ClusterNetworkPolicy: not in the controller' },
  { id: 'T39', why: 'ClusterNetworkPolicy: not in the controller' },
  { id: 'T40', why: 'port overflow: compiler-level (agent unit tests)' },
  { id: 'T41', why: 'CLI pins after delete: agent-level' },
  { id: 'T42', why: 'agent restart: in cases.kernel.test.ts as its own scenario, not a table row' },
];
