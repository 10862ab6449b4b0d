// clsact + one direct-action bpf filter per hook (handle 1, priority 1) through libbpf's bpf_tc_* API.
// Filters are replaced in place (BPF_TC_F_REPLACE), so a program swap has no gap. The qdisc is created when
// absent and never destroyed (bpf_tc_hook_destroy would remove the whole clsact, including others' filters).
import { withNetns } from '@vpc-cni/shared/netlink';
import type { Direction } from './contract.js';
import { DatapathError } from './errors.js';
import {
  BPF_TC_EGRESS,
  BPF_TC_F_REPLACE,
  BPF_TC_INGRESS,
  libbpf,
  takeLog,
  tcHook,
  tcOpts,
  tcOptsProgId,
} from './libbpf.js';

const EEXIST = 17;
const ENOENT = 2;
export const FILTER_HANDLE = 1;
export const FILTER_PRIO = 1;

/** to-pod traffic (pod ingress policy) leaves the host through the veth: TC egress hook; and vice versa. */
export const hookOf = (dir: Direction): number => (dir === 'ingress' ? BPF_TC_EGRESS : BPF_TC_INGRESS);

export class Tc {
  constructor(private readonly netns?: string) {}

  private in<T>(fn: () => T): T {
    return this.netns ? withNetns(this.netns, fn) : fn();
  }

  ifindex(name: string): number {
    return this.in(() => libbpf().ifNameToIndex(name));
  }

  /** Program id attached at handle 1 prio 1 of the hook, or 0. */
  query(ifindex: number, dir: Direction): number {
    return this.in(() => {
      const opts = tcOpts(0, 0, FILTER_HANDLE, FILTER_PRIO);
      const rc = libbpf().tcQuery(tcHook(ifindex, hookOf(dir)), opts);
      if (rc === -ENOENT || rc === -22 /* EINVAL: no clsact */) return 0;
      if (rc < 0)
        throw new DatapathError('ATTACH_FAILED', `bpf_tc_query(ifindex ${ifindex}, ${dir})`, -rc, takeLog());
      return tcOptsProgId(opts);
    });
  }

  /** Creates clsact if absent, then attaches (or atomically replaces) the filter. Returns the program id. */
  attach(ifname: string, ifindex: number, dir: Direction, progFd: number): number {
    return this.in(() => {
      const l = libbpf();
      takeLog();
      const hook = tcHook(ifindex, hookOf(dir));
      const rc = l.tcHookCreate(hook);
      if (rc < 0 && rc !== -EEXIST)
        throw new DatapathError('ATTACH_FAILED', `create clsact on ${ifname}`, -rc, takeLog());
      const opts = tcOpts(progFd, BPF_TC_F_REPLACE, FILTER_HANDLE, FILTER_PRIO);
      const arc = l.tcAttach(hook, opts);
      if (arc < 0)
        throw new DatapathError('ATTACH_FAILED', `attach ${dir} program to ${ifname}`, -arc, takeLog());
      return tcOptsProgId(opts);
    });
  }

  /** Removes our filter (handle 1 prio 1) from a hook; absent is fine. The qdisc stays. */
  detach(ifindex: number, dir: Direction): void {
    this.in(() => {
      const rc = libbpf().tcDetach(tcHook(ifindex, hookOf(dir)), tcOpts(0, 0, FILTER_HANDLE, FILTER_PRIO));
      if (rc < 0 && rc !== -ENOENT && rc !== -22)
        throw new DatapathError(
          'ATTACH_FAILED',
          `detach ${dir} filter from ifindex ${ifindex}`,
          -rc,
          takeLog(),
        );
    });
  }
}
