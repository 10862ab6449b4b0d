// DEL teardown plans (docs/architecture.md#one-pod-del, #branch-eni-pods) and the rollback of a partially
// applied ADD plan.
import { vlanLinkName } from '../names.js';
import { BRANCH_TABLE_BASE } from './add.js';
import { familyOf, hostCidr, MAIN_TABLE, normaliseTable, type Op } from './ops.js';

/**
 * Ordinary teardown of one pod IP (docs/architecture.md#one-pod-del): the prio-512/1536 rules and the
 * main-table route (only the route via
 * `dev` when given, so a route another container now owns is never removed).
 */
export function ordinaryTeardown(ip: string, table: number, dev?: string): Op[] {
  const family = familyOf(ip);
  const cidr = hostCidr(ip);
  const t = normaliseTable(table);
  const ops: Op[] = [{ op: 'ruleDelAll', ns: 'host', family, priority: 512, to: cidr, table: MAIN_TABLE }];
  if (t !== MAIN_TABLE)
    ops.push({ op: 'ruleDelAll', ns: 'host', family, priority: 1536, from: cidr, table: t });
  ops.push({ op: 'routeDel', ns: 'host', dst: cidr, table: MAIN_TABLE, ...(dev ? { dev } : {}) });
  return ops;
}

/**
 * Branch-pod teardown, independent of the mode the pod was set up with
 * (docs/architecture.md#branch-eni-pods).
 */
export function branchTeardown(ip: string, vlanId: number): Op[] {
  const table = BRANCH_TABLE_BASE + vlanId;
  return [
    { op: 'linkDel', ns: 'host', name: vlanLinkName(vlanId) },
    { op: 'ruleDelAll', ns: 'host', family: familyOf(ip), priority: 10, table },
    ...ordinaryTeardown(ip, table),
  ];
}

/**
 * The undo list for the ops of an ADD plan that were applied (in order). Pod-side state goes with the veth
 * (deleting the host end removes both ends), a VLAN link takes its routes along; host routes and rules are
 * removed explicitly. Stale-link deletions and sysctls have nothing to undo.
 */
export function rollbackOps(applied: readonly Op[]): Op[] {
  const undo: Op[] = [];
  for (const op of [...applied].reverse()) {
    switch (op.op) {
      case 'vethAdd':
        undo.push({ op: 'linkDel', ns: 'host', name: op.hostIf });
        break;
      case 'vlanAdd':
        undo.push({ op: 'linkDel', ns: 'host', name: op.name });
        break;
      case 'ruleAdd':
        if (op.ns === 'host') {
          const { family, priority, table, from, to, iif } = op;
          undo.push({
            op: 'ruleDelAll',
            ns: 'host',
            family,
            priority,
            table,
            ...(from ? { from } : {}),
            ...(to ? { to } : {}),
            ...(iif ? { iif } : {}),
          });
        }
        break;
      case 'routeReplace':
      case 'routeAdd':
        if (op.ns === 'host')
          undo.push({ op: 'routeDel', ns: 'host', dst: op.dst, table: op.table, dev: op.dev });
        break;
      default:
        break;
    }
  }
  return undo;
}
