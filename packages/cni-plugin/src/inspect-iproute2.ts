// Interim KernelView over `ip -j` for CHECK (replaced by netlink dumps when @vpc-cni/shared/netlink lands).
import { spawnSync } from 'node:child_process';
import type { KernelView } from './commands/check.js';

function ipj<T>(netns: string | undefined, args: string[]): T[] {
  const r = netns
    ? spawnSync('nsenter', [`--net=${netns}`, 'ip', '-j', ...args], { encoding: 'utf8' })
    : spawnSync('ip', ['-j', ...args], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.trim()) return [];
  return JSON.parse(r.stdout) as T[];
}

const TABLES: Record<string, number> = { main: 254, local: 255, default: 253 };

export function iproute2View(podNetns: string): KernelView {
  return {
    podAddrs: (ifName) => {
      const l = ipj<{ addr_info?: { local: string }[] }>(podNetns, ['addr', 'show', 'dev', ifName])[0];
      return l ? (l.addr_info ?? []).map((a) => a.local) : undefined;
    },
    podDefaultGw: (ifName, family) =>
      ipj<{ gateway?: string; dev: string }>(podNetns, [`-${family}`, 'route', 'show', 'default']).find(
        (r) => r.dev === ifName,
      )?.gateway,
    hostLinkExists: (name) => ipj(undefined, ['link', 'show', 'dev', name]).length > 0,
    hostRouteDev: (ip, table) =>
      ipj<{ dev: string }>(undefined, ['route', 'show', ip, 'table', String(table)])[0]?.dev,
    hostRules: (family) =>
      ipj<{ priority: number; src?: string; dst?: string; iif?: string; table: string }>(undefined, [
        `-${family}`,
        'rule',
        'show',
      ]).map((r) => ({ ...r, table: TABLES[r.table] ?? Number(r.table) })),
  };
}
