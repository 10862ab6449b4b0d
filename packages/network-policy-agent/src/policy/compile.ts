// The rule compiler: every rule of the policies selecting one pod, for one direction → the content of that
// pod's NP map (LPM key → up to 24 entries), such that the datapath's lookup (./lookup.ts) answers exactly what
// the rules say (./reference.ts). Pure and deterministic. The algorithm and how it differs from upstream are
// described in the package README ("Rule compiler").
import { type Cidr, type Family as IpFamily, formatCidr, parseCidr } from '@vpc-cni/shared/ipmath';
import {
  type Family,
  MAX_NP_ENTRIES,
  type NpEntry,
  type NpMapContent,
  PROTO_ANY,
  PROTO_DENY,
} from '../datapath/contract.js';
import { ALL_PORTS, type PortRange, encodeRanges, portRange } from './ports.js';
import type { CompileIssue, PolicyRule } from './types.js';

export interface CompileOptions {
  family: Family;
  /** The node's primary IP: always allowed in both directions once a map is programmed. */
  nodeIp: string;
}

export interface CompileResult {
  content: NpMapContent;
  issues: CompileIssue[];
}

/** Entries of a key that allows nothing (an `except` no other rule re-allows, or a CIDR over the limit). */
export const DENY_ENTRIES: readonly NpEntry[] = [{ protocol: PROTO_DENY, startPort: 0, endPort: 0 }];
const ALLOW_ALL: readonly NpEntry[] = [{ protocol: PROTO_ANY, startPort: 0, endPort: 0 }];

const ipFamily = (f: Family): IpFamily => (f === 'ipv4' ? 4 : 6);

/** `inner` ⊆ `outer` (same family). */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  if (inner.family !== outer.family || inner.bits < outer.bits) return false;
  const width = inner.family === 4 ? 32 : 128;
  const shift = BigInt(width - outer.bits);
  return inner.base >> shift === outer.base >> shift;
}

interface ParsedRule {
  cidr: Cidr;
  except: Cidr[];
  ranges: PortRange[];
  policy: string;
}

/** Parses one rule; a rule that cannot be parsed whole is dropped (fail closed), with the reason. */
function parseRule(r: PolicyRule, family: IpFamily, issues: CompileIssue[]): ParsedRule | undefined {
  const cidr = tryCidr(r.cidr, r.policy, issues);
  if (!cidr || cidr.family !== family) return undefined;
  const except: Cidr[] = [];
  for (const e of r.except) {
    const c = tryCidr(e, r.policy, issues);
    // An unreadable except would widen the rule: drop the rule instead.
    if (!c) return undefined;
    // Other-family excepts cannot remove anything from this rule (upstream encoded them as bogus entries).
    if (c.family === family) except.push(c);
  }
  const ranges: PortRange[] = [];
  for (const p of r.ports) {
    const range = portRange(p);
    if ('error' in range) {
      issues.push({ kind: 'bad-port', policy: r.policy, value: JSON.stringify(p), reason: range.error });
      return undefined;
    }
    ranges.push(range);
  }
  if (r.ports.length === 0) ranges.push({ protocol: PROTO_ANY, ...ALL_PORTS });
  return { cidr, except, ranges, policy: r.policy };
}

function tryCidr(text: string, policy: string, issues: CompileIssue[]): Cidr | undefined {
  try {
    return parseCidr(text.trim());
  } catch (err) {
    issues.push({ kind: 'bad-cidr', policy, value: text, reason: (err as Error).message });
    return undefined;
  }
}

/**
 * Compiles the union of `rules` (all of one direction of one pod). Every prefix named by a rule or an except
 * becomes a key; a key holds the ports of every rule whose CIDR contains it and none of whose excepts
 * contains it. Since LPM picks the longest key holding the address, and every rule and except boundary is a
 * key, that is exactly the union of the rules for every address.
 */
export function compileNpMap(rules: readonly PolicyRule[], o: CompileOptions): CompileResult {
  const issues: CompileIssue[] = [];
  const family = ipFamily(o.family);
  const parsed = rules.flatMap((r) => parseRule(r, family, issues) ?? []);
  const prefixes = new Map<string, Cidr>();
  for (const r of parsed) for (const c of [r.cidr, ...r.except]) prefixes.set(formatCidr(c), c);

  const content = new Map<string, readonly NpEntry[]>();
  for (const [key, q] of [...prefixes].sort(byPrefix)) {
    const holders = parsed.filter((r) => cidrWithin(q, r.cidr) && !r.except.some((e) => cidrWithin(q, e)));
    const entries = encodeRanges(holders.flatMap((r) => r.ranges));
    if (entries.length === 0) content.set(key, DENY_ENTRIES);
    else if (entries.length > MAX_NP_ENTRIES) {
      // Fail closed for this prefix: never a silently truncated rule set (README "Port entry limit").
      issues.push({
        kind: 'too-many-ports',
        cidr: key,
        count: entries.length,
        policies: [...new Set(holders.map((r) => r.policy))].sort(),
      });
      content.set(key, DENY_ENTRIES);
    } else content.set(key, entries);
  }
  const node = parseCidr(o.nodeIp);
  if (node.family === family) content.set(formatCidr(node), ALLOW_ALL);
  return { content, issues };
}

/** Shorter prefixes first, then by address: a stable, readable order. */
function byPrefix(a: [string, Cidr], b: [string, Cidr]): number {
  return a[1].bits - b[1].bits || (a[1].base < b[1].base ? -1 : a[1].base > b[1].base ? 1 : 0);
}

/** The catch-all rule of a direction no policy isolates. */
export const catchAll = (family: Family, policy = ''): PolicyRule => ({
  cidr: family === 'ipv4' ? '0.0.0.0/0' : '::/0',
  except: [],
  ports: [],
  policy,
});
