// Security groups in the VPC fabric: traffic the router forwards to an ENI passes that ENI's inbound rules (the
// union of its groups' rules), statefully as EC2 does: replies to connections the ENI opened always pass. An ENI
// with a group whose rules the world does not model lets everything in. Rendered as one nftables table in the
// fabric netns and replaced atomically whenever the world changes.
import { execFileSync } from 'node:child_process';
import type { World } from '../sim/world.js';
import type { SgRule } from '../sim/types.js';

export const SG_TABLE = 'vct_sg';

/** Every IPv4 address and prefix EC2 gives the ENIs carrying a group: the group as a rule source. */
function groupMembers(w: World, groupId: string): string[] {
  const out: string[] = [];
  for (const e of w.enis.values())
    if (e.groups.includes(groupId)) out.push(e.primaryIp, ...e.secondaryIps, ...e.ipv4Prefixes);
  return out.filter(Boolean);
}

function ruleLine(w: World, r: SgRule): string | undefined {
  const sources = [...r.cidrs, ...r.groups.flatMap((g) => groupMembers(w, g))];
  if (sources.length === 0) return undefined;
  const from = `ip saddr { ${sources.join(', ')} }`;
  const ports = r.fromPort === r.toPort ? `${r.fromPort}` : `${r.fromPort}-${r.toPort}`;
  if (r.protocol === 'tcp' || r.protocol === 'udp') return `${from} ${r.protocol} dport ${ports} accept`;
  if (r.protocol === 'icmp') return `${from} meta l4proto icmp accept`;
  return `${from} accept`;
}

/** The nftables script for the plugged ENIs (fabric-side link name per ENI). */
export function renderSecurityGroups(
  w: World,
  plugged: ReadonlyArray<{ eniId: string; link: string }>,
): string {
  const jumps: string[] = [];
  const chains: string[] = [];
  for (const [i, p] of plugged.entries()) {
    const eni = w.enis.get(p.eniId);
    if (!eni) continue;
    const groups = eni.groups.map((g) => w.groups.get(g));
    if (groups.length === 0 || groups.some((g) => g?.ingress === undefined)) continue; // not modelled: all in
    const lines = groups.flatMap((g) => (g?.ingress ?? []).map((r) => ruleLine(w, r))).filter(Boolean);
    jumps.push(`    oifname "${p.link}" jump eni_${i}`);
    // IPv6 is not modelled: it passes; everything else not allowed is dropped.
    chains.push(
      `  chain eni_${i} {\n${lines.map((l) => `    ${l}\n`).join('')}    meta nfproto ipv6 accept\n    drop\n  }`,
    );
  }
  return [
    `table inet ${SG_TABLE} {`,
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
    '    ct state established,related accept',
    ...jumps,
    '  }',
    ...chains,
    '}',
    '',
  ].join('\n');
}

/** Replaces the table in one nft transaction (create-if-missing, delete, add). */
export function applySecurityGroups(netns: string, script: string): void {
  execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], {
    input: `table inet ${SG_TABLE}\ndelete table inet ${SG_TABLE}\n${script}`,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}
