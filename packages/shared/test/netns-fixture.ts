// Throwaway network namespaces for kernel tests: unique names, `ip -j` as the second opinion, always deleted.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestNetns {
  readonly name: string;
  readonly path: string;
  /** `ip -n <ns> -j <args>` parsed. */
  ipj<T = Record<string, unknown>>(args: string[]): T[];
  /** `ip -n <ns> <args>`; returns stdout. */
  ip(args: string[]): string;
  remove(): void;
}

export function createTestNetns(tag: string): TestNetns {
  const name = `vct-${tag}-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  const ip = (args: string[]): string =>
    execFileSync('ip', ['-n', name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    name,
    path: `/var/run/netns/${name}`,
    ip,
    ipj<T>(args: string[]): T[] {
      const out = ip(['-j', ...args]).trim();
      return out ? (JSON.parse(out) as T[]) : [];
    },
    remove: () => execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }),
  };
}

export const kernelHasLinkKind = (ns: TestNetns, kind: string): boolean => {
  try {
    ns.ip(['link', 'add', 'probe0', 'type', kind]);
    ns.ip(['link', 'del', 'probe0']);
    return true;
  } catch {
    return false;
  }
};
