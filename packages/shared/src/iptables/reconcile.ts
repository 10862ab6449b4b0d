// Converging iptables to a desired state for the rules we own, in one atomic iptables-restore per family:
// - owned chains (e.g. AWS-SNAT-CHAIN-0) are declared and refilled wholesale (a `:CHAIN` line in a --noflush
//   restore flushes just that chain);
// - in shared chains (PREROUTING, POSTROUTING, FORWARD) only rules marked as ours are touched: stale ones are
//   deleted, missing ones appended, and if ours are out of order they are all re-appended in order;
// - stale owned chains (older naming) are flushed and deleted.
// Nothing is sent when the live state already matches, so re-applying is a no-op.
import { type ChainState, parseSave } from './save.js';
import type { Family, IptablesRunner } from './exec.js';

export interface TableSpec {
  table: string;
  /** Chains we own entirely, with their rules in order. */
  owned: Map<string, string[]>;
  /** Our rules in shared chains, in order. */
  shared: Map<string, string[]>;
  /** Shared chains where ours go first (e.g. a REJECT that must win over later ACCEPTs). */
  sharedFirst?: ReadonlySet<string>;
  /** Recognises our rules in shared chains (e.g. by their comment). */
  isOurs(rule: string): boolean;
  /** Recognises owned chains of older releases that must go (e.g. AWS-SNAT-CHAIN-1). */
  isStaleChain(chain: string): boolean;
}

const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** The restore script that converges `live` to `spec`, or '' when nothing differs. */
export function planTable(spec: TableSpec, live: Map<string, ChainState> | undefined): string {
  const lines: string[] = [];
  const chains = live ?? new Map<string, ChainState>();
  for (const [chain, rules] of spec.owned) {
    const cur = chains.get(chain);
    if (cur && same(cur.rules, rules)) continue;
    lines.push(`:${chain} - [0:0]`, ...rules.map((r) => `-A ${chain} ${r}`));
  }
  for (const [chain, rules] of spec.shared) {
    const ours = (chains.get(chain)?.rules ?? []).filter((r) => spec.isOurs(r));
    if (same(ours, rules)) continue;
    lines.push(...ours.map((r) => `-D ${chain} ${r}`));
    if (spec.sharedFirst?.has(chain)) lines.push(...rules.map((r, i) => `-I ${chain} ${i + 1} ${r}`));
    else lines.push(...rules.map((r) => `-A ${chain} ${r}`));
  }
  // Our rules left in built-in chains the spec no longer lists.
  for (const [chain, state] of chains) {
    if (spec.shared.has(chain) || state.policy === '-') continue;
    for (const r of state.rules) if (spec.isOurs(r)) lines.push(`-D ${chain} ${r}`);
  }
  const stale = [...chains.keys()].filter((c) => spec.isStaleChain(c) && !spec.owned.has(c));
  // References to a stale chain must go before it can be deleted.
  for (const [chain, state] of chains)
    for (const r of state.rules)
      if (stale.some((s) => r.includes(`-j ${s}`)) && !lines.includes(`-D ${chain} ${r}`))
        lines.push(`-D ${chain} ${r}`);
  for (const c of stale) lines.push(`-F ${c}`, `-X ${c}`);
  return lines.length === 0 ? '' : `*${spec.table}\n${lines.join('\n')}\nCOMMIT\n`;
}

/** Converges every table of one family; returns the script that was applied ('' when already converged). */
export function reconcile(runner: IptablesRunner, family: Family, specs: readonly TableSpec[]): string {
  const live = parseSave(runner.save(family));
  const script = specs.map((s) => planTable(s, live.get(s.table))).join('');
  if (script) runner.restore(family, script);
  return script;
}
