// The per-pod SNAT chain in the nat table: a pure script planner over iptables-save's text, and its application
// with one atomic `iptables-restore --noflush` (nothing is sent when the live state already matches). Only the
// pod's own chain and the POSTROUTING rules jumping into it are ever touched.
import { type ChainState, type IptablesRunner, parseSave } from '@vpc-cni/shared/iptables';
import type { SnatAddOp, SnatDelOp, SnatOp } from './plan.js';

const jumpsInto = (rules: readonly string[], chain: string) =>
  rules.filter((r) => r.endsWith(` -j ${chain}`));

/** The restore script converging the nat table for `op`, or '' when nothing differs. */
export function snatScript(saveText: string, op: SnatOp): string {
  const nat = parseSave(saveText).get('nat') ?? new Map<string, ChainState>();
  const post = nat.get('POSTROUTING')?.rules ?? [];
  const jumps = jumpsInto(post, op.chain);
  const cur = nat.get(op.chain);
  const lines: string[] = [];
  if (op.op === 'snatAdd') {
    const same = cur && cur.rules.length === op.rules.length && cur.rules.every((r, i) => r === op.rules[i]);
    // A chain line in a --noflush restore creates the chain or empties it.
    if (!same) lines.push(`:${op.chain} - [0:0]`, ...op.rules.map((r) => `-A ${op.chain} ${r}`));
    for (const j of jumps) if (j !== op.jump) lines.push(`-D POSTROUTING ${j}`);
    if (!jumps.includes(op.jump)) lines.push(`-A POSTROUTING ${op.jump}`);
  } else {
    for (const j of jumps) lines.push(`-D POSTROUTING ${j}`);
    if (cur) lines.push(`-F ${op.chain}`, `-X ${op.chain}`);
  }
  return lines.length ? `*nat\n${lines.join('\n')}\nCOMMIT\n` : '';
}

/** Applies one SNAT op; returns the script sent ('' when already converged). */
export function applySnat(runner: IptablesRunner, op: SnatAddOp | SnatDelOp): string {
  const script = snatScript(runner.save(op.family, 'nat'), op);
  if (script) runner.restore(op.family, script);
  return script;
}
