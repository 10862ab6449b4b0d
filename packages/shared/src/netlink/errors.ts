// Typed errors for every kernel call: the errno name, the operation with its arguments, and the kernel's own
// extended-ACK text, so a failure in a log line says what was attempted and why the kernel refused.
import { ERRNO_NAMES } from './errno-names.js';

export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

// What the common errnos mean for rtnetlink objects (strerror's "No such process" for a missing IPv4 route helps
// nobody).
const MEANING: Record<string, string> = {
  ENOENT: 'not found',
  ESRCH: 'not found',
  ENODEV: 'no such device',
  EEXIST: 'already exists',
  EADDRNOTAVAIL: 'address not present',
  EPERM: 'operation not permitted (needs CAP_NET_ADMIN)',
  EACCES: 'permission denied',
  EBUSY: 'device or resource busy',
  EINVAL: 'invalid argument',
  ENETUNREACH: 'network unreachable (is the gateway reachable through the device?)',
  EOPNOTSUPP: 'not supported by this kernel',
  EAGAIN: 'timed out',
};

export class NetlinkError extends Error {
  /** errno name, e.g. EEXIST, ENOENT, ESRCH. */
  readonly code: string;
  constructor(
    readonly errno: number,
    readonly operation: string,
    readonly args: Readonly<Record<string, unknown>>,
    readonly extAck?: string,
  ) {
    const what = `${operation} ${JSON.stringify(args)}`;
    const name = errnoName(errno);
    const meaning = MEANING[name];
    super(`${what}: ${name}${meaning ? ` ${meaning}` : ''}${extAck ? ` (kernel: ${extAck})` : ''}`);
    this.name = 'NetlinkError';
    this.code = name;
  }
}

export const isNetlinkError = (e: unknown, code?: string): e is NetlinkError =>
  e instanceof NetlinkError && (code === undefined || e.code === code);
