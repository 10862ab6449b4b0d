// A compile issue → the log message, the Warning event reason, and the PEs to attach the event to.
import type { CompileIssue } from '../policy/types.js';
import type { PolicyIndex } from './policy-index.js';

export function describeIssue(
  issue: CompileIssue,
  index: PolicyIndex,
): { reason: string; message: string; pes: { namespace: string; name: string }[] } {
  const pesOf = (policies: readonly string[]) =>
    policies.flatMap((p) => index.pesOf(p).map((pe) => ({ namespace: pe.namespace, name: pe.name })));
  switch (issue.kind) {
    case 'too-many-ports':
      return {
        reason: 'TooManyPortEntries',
        message:
          `${issue.count} port entries for ${issue.cidr} (from policies ${issue.policies.join(', ')}) exceed the ` +
          `datapath's 24 per CIDR; traffic from/to ${issue.cidr} is denied for the affected pod until the ` +
          'policies use fewer distinct ports or ranges',
        pes: pesOf(issue.policies),
      };
    case 'bad-cidr':
      return {
        reason: 'InvalidCIDR',
        message: `rule of policy ${issue.policy} ignored (it allows nothing): "${issue.value}": ${issue.reason}`,
        pes: pesOf([issue.policy]),
      };
    case 'bad-port':
      return {
        reason: 'InvalidPort',
        message: `rule of policy ${issue.policy} ignored (it allows nothing): port ${issue.value}: ${issue.reason}`,
        pes: pesOf([issue.policy]),
      };
  }
}
