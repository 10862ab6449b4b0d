// Network namespaces. `withNetns` moves the calling thread into a namespace, runs a synchronous function there
// and always moves it back. This is safe in Node because the function is synchronous: no other JavaScript runs
// on the main thread in between, and the system calls made inside (netlink through koffi, fs.*Sync on /proc)
// run on the main thread itself, never on the libuv pool whose threads stay in the original namespace.
import { readlinkSync } from 'node:fs';
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY, loadLibc } from './ffi.js';
import { NetlinkError } from './errors.js';

/** A namespace file: /var/run/netns/X, /proc/<pid>/ns/net, a containerd netns path, or an open fd. */
export type NetnsRef = string | number;

/** The inode identity of this thread's network namespace, e.g. "net:[4026531840]". */
export function currentNetnsId(): string {
  return readlinkSync('/proc/thread-self/ns/net');
}

/** Opens a namespace file (O_CLOEXEC); throws NetlinkError ENOENT etc. before any change is made. */
export function openNetns(path: string): number {
  const libc = loadLibc();
  const fd = libc.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new NetlinkError(libc.errno(), 'open netns', { path });
  return fd;
}

export function closeFd(fd: number): void {
  loadLibc().close(fd);
}

function enter(fd: number, what: NetnsRef): void {
  const libc = loadLibc();
  if (libc.setns(fd, CLONE_NEWNET) !== 0) throw new NetlinkError(libc.errno(), 'setns', { netns: what });
}

/**
 * Runs `fn` inside the network namespace `ns` and returns to the original one, also when `fn` throws.
 * `fn` must be synchronous: a returned Promise is refused, since awaiting would let other code run in `ns`.
 */
export function withNetns<T>(ns: NetnsRef, fn: () => T): T {
  const original = openNetns('/proc/thread-self/ns/net');
  let target = -1;
  try {
    target = typeof ns === 'number' ? ns : openNetns(ns);
    enter(target, ns);
    try {
      const result = fn();
      if (result instanceof Promise) throw new Error('withNetns: the function must be synchronous');
      return result;
    } finally {
      // Failing to return would leave the whole process in the wrong namespace: nothing sane can follow.
      enter(original, '/proc/thread-self/ns/net (original)');
    }
  } finally {
    if (typeof ns !== 'number' && target >= 0) closeFd(target);
    closeFd(original);
  }
}
