// bpffs at /sys/fs/bpf (new behaviour, spec "Decisions" 3): mounted only when nothing of type bpf is mounted
// there yet; the caller says which of the two happened.
import { mkdirSync, readFileSync } from 'node:fs';
import { NetlinkError, loadLibc } from '@vpc-cni/shared/netlink';

/** Mount points of type bpf, from /proc/self/mountinfo (fields: ... mountpoint(5) ... - fstype source ...). */
export function bpfMountPoints(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    if (right.split(' ')[0] === 'bpf' && mountPoint) out.push(mountPoint.replace(/\\040/g, ' ')); // mountinfo octal-escapes spaces
  }
  return out;
}

export function ensureBpffs(path: string): 'already-mounted' | 'mounted' {
  if (bpfMountPoints().includes(path)) return 'already-mounted';
  mkdirSync(path, { recursive: true });
  const libc = loadLibc();
  if (libc.mount('bpffs', path, 'bpf', 0, 'mode=0700') !== 0)
    throw new NetlinkError(libc.errno(), 'mount bpffs', { path });
  return 'mounted';
}
