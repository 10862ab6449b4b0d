// sysctls as seen from a namespace: /proc/sys/net/* is per network namespace, resolved when the file is opened,
// so reading or writing it inside withNetns (synchronously, on the main thread) addresses that namespace.
import { readFileSync, writeFileSync } from 'node:fs';
import { type NetnsRef, withNetns } from './netns.js';

/** "net.ipv4.ip_forward" or "net/ipv4/conf/eth0.100/rp_filter" (use slashes when a name has dots). */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.includes('/') ? key : key.replace(/\./g, '/')}`;
}

const inNs = <T>(netns: NetnsRef | undefined, fn: () => T): T =>
  netns === undefined ? fn() : withNetns(netns, fn);

export function sysctlGet(key: string, netns?: NetnsRef): string {
  return inNs(netns, () => readFileSync(sysctlPath(key), 'utf8').trim());
}

export function sysctlSet(key: string, value: string | number, netns?: NetnsRef): void {
  inNs(netns, () => writeFileSync(sysctlPath(key), String(value)));
}
