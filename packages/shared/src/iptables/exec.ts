// Running iptables tools, in the current network namespace or in another one (via nsenter, so the caller never
// switches namespaces itself). `--wait` everywhere: kube-proxy and others hold the xtables lock too.
import { execFileSync } from 'node:child_process';

export type Family = 4 | 6;

export interface IptablesRunner {
  save(family: Family, table?: string): string;
  restore(family: Family, script: string): void;
  version(): string;
  /** Number of restore calls made (tests: re-applying an unchanged state makes none). */
  readonly restores: number;
}

export function iptablesRunner(netnsPath?: string): IptablesRunner {
  let restores = 0;
  const run = (cmd: string, args: string[], input?: string): string => {
    const argv = netnsPath ? [`--net=${netnsPath}`, cmd, ...args] : args;
    try {
      return execFileSync(netnsPath ? 'nsenter' : cmd, argv, {
        encoding: 'utf8',
        input,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
    }
  };
  const tool = (f: Family, what: 'save' | 'restore') => `${f === 4 ? 'iptables' : 'ip6tables'}-${what}`;
  return {
    save: (f, table) => run(tool(f, 'save'), table ? ['-t', table] : []),
    restore: (f, script) => {
      restores++;
      run(tool(f, 'restore'), ['--noflush', '--wait'], script);
    },
    version: () => run('iptables', ['--version']).trim(),
    get restores() {
      return restores;
    },
  };
}
