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

/** Which iptables the node uses: the nft or legacy variant, or plain `iptables` when the variants are absent. */
export type Backend = 'nft' | 'legacy' | 'system';

const KUBELET_CHAINS = /KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY/;

/**
 * As the Kubernetes iptables-wrapper decides (see docs/architecture.md#host-networking): nft if the nft view
 * of the mangle table shows a kubelet
 * chain, else legacy if the legacy view does, else nft. Without the -nft/-legacy variants, plain iptables.
 */
export function detectBackend(netnsPath?: string): Backend {
  const shows = (variant: 'nft' | 'legacy'): boolean | undefined => {
    let any = false;
    for (const cmd of [`iptables-${variant}-save`, `ip6tables-${variant}-save`]) {
      const argv = netnsPath ? [`--net=${netnsPath}`, cmd, '-t', 'mangle'] : ['-t', 'mangle'];
      try {
        const out = execFileSync(netnsPath ? 'nsenter' : cmd, argv, {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        any = true;
        if (KUBELET_CHAINS.test(out)) return true;
      } catch {
        // variant not installed or table unavailable
      }
    }
    return any ? false : undefined;
  };
  const nft = shows('nft');
  if (nft === undefined && shows('legacy') === undefined) return 'system';
  if (nft) return 'nft';
  return shows('legacy') ? 'legacy' : 'nft';
}

export function iptablesRunner(netnsPath?: string, backend: Backend = 'system'): IptablesRunner {
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
  const variant = backend === 'system' ? '' : `-${backend}`;
  const tool = (f: Family, what: 'save' | 'restore') =>
    `${f === 4 ? 'iptables' : 'ip6tables'}${variant}-${what}`;
  return {
    save: (f, table) => run(tool(f, 'save'), table ? ['-t', table] : []),
    restore: (f, script) => {
      restores++;
      run(tool(f, 'restore'), ['--noflush', '--wait'], script);
    },
    version: () => run(`iptables${variant}`, ['--version']).trim(),
    get restores() {
      return restores;
    },
  };
}
