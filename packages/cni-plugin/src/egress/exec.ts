// The executor of egress plans: kernel ops go to aws-cni's netlink executor, SNAT ops to iptables (the backend
// the node uses, detected as ipamd detects it, once per run).
import { detectBackend, iptablesRunner, type IptablesRunner } from '@vpc-cni/shared/iptables';
import type { OpExecutor } from '../commands/deps.js';
import type { EgressOp } from './plan.js';
import { applySnat } from './snat.js';

export interface EgressExecutor {
  apply(op: EgressOp, podNetns: string): Promise<void>;
  close(): void;
}

export function egressExecutor(kernel: OpExecutor, iptables: () => IptablesRunner): EgressExecutor {
  let runner: IptablesRunner | undefined;
  return {
    async apply(op, netns) {
      switch (op.op) {
        case 'snatAdd':
        case 'snatDel':
          applySnat((runner ??= iptables()), op);
          return;
        default:
          await kernel.apply(op, netns);
      }
    },
    close: () => kernel.close(),
  };
}

/** Test hook: the executor fails its `failAtOp`-th apply (1-based), to prove a failed ADD leaves nothing. */
export function failingAt(exec: EgressExecutor, failAtOp: number): EgressExecutor {
  let n = 0;
  return {
    close: () => exec.close(),
    apply: async (op, netns) => {
      n += 1;
      if (n === failAtOp) throw new Error(`injected failure at op ${n} (${op.op})`);
      await exec.apply(op, netns);
    },
  };
}

export async function realEgressExecutor(failAtOp: number): Promise<EgressExecutor> {
  const { netlinkExecutor } = await import('../exec-netlink.js');
  const exec = egressExecutor(netlinkExecutor(), () => iptablesRunner(undefined, detectBackend()));
  return failAtOp > 0 ? failingAt(exec, failAtOp) : exec;
}
