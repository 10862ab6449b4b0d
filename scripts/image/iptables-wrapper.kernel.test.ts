// scripts/image/iptables-wrapper (the image's iptables backend choice, docs/image.md) in a throwaway netns: the
// choice follows the kubelet's marker chains, and first use re-points Debian's alternatives (done in a private
// mount namespace over copies of /usr/sbin and the alternatives, so the host's stay untouched).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const WRAPPER = resolve(import.meta.dirname, 'iptables-wrapper');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function netns(): string {
  const name = `ipw-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  execFileSync('ip', ['netns', 'add', name]);
  cleanups.push(() => execFileSync('ip', ['netns', 'del', name]));
  return name;
}
const inNs = (ns: string, ...cmd: string[]): string =>
  execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8' });
const detect = (ns: string): string => inNs(ns, 'sh', WRAPPER, '--detect').trim();

describe('iptables-wrapper', () => {
  it('nft without marker chains; legacy when only the legacy tables have one; nft when nft has one', () => {
    const ns = netns();
    expect(detect(ns)).toBe('nft');
    inNs(ns, 'iptables-legacy', '-t', 'mangle', '-N', 'KUBE-KUBELET-CANARY');
    expect(detect(ns)).toBe('legacy');
    inNs(ns, 'ip6tables-nft', '-t', 'mangle', '-N', 'KUBE-IPTABLES-HINT');
    expect(detect(ns)).toBe('nft');
  });

  it('first use points the alternatives at the chosen backend and runs the command', () => {
    const ns = netns();
    inNs(ns, 'iptables-legacy', '-t', 'mangle', '-N', 'KUBE-KUBELET-CANARY');
    const tmp = mkdtempSync(join(tmpdir(), 'ipw-'));
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    const script = `
      set -e
      mount --make-rprivate /
      for d in /usr/sbin /etc/alternatives /var/lib/dpkg/alternatives; do
        mkdir -p "$T$d"; cp -a "$d/." "$T$d/"; mount --bind "$T$d" "$d"
      done
      cp "$W" /usr/sbin/iptables-wrapper
      for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
        ln -sfn iptables-wrapper "/usr/sbin/$c"
      done
      echo "saved: $(ip netns exec "$N" iptables-save -t mangle | grep -c KUBE-KUBELET-CANARY)"
      echo "alternative: $(readlink /etc/alternatives/iptables) $(readlink /etc/alternatives/ip6tables-save)"
      echo "link: $(readlink /usr/sbin/iptables) $(readlink /usr/sbin/ip6tables-restore)"
      echo "again: $(ip netns exec "$N" iptables -t mangle -S KUBE-KUBELET-CANARY)"
    `;
    const out = execFileSync('unshare', ['-m', 'sh', '-c', script], {
      encoding: 'utf8',
      env: { ...process.env, T: tmp, W: WRAPPER, N: ns },
    });
    expect(out.trim().split('\n')).toEqual([
      'saved: 1',
      'alternative: /usr/sbin/iptables-legacy /usr/sbin/ip6tables-legacy-save',
      'link: /etc/alternatives/iptables /etc/alternatives/ip6tables-restore',
      'again: -N KUBE-KUBELET-CANARY',
    ]);
    // The host's own links are untouched.
    expect(execFileSync('readlink', ['/usr/sbin/iptables'], { encoding: 'utf8' }).trim()).toBe(
      '/etc/alternatives/iptables',
    );
  });
});
