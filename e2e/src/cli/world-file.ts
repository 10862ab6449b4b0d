// The CLI's world description (YAML or JSON): a VPC, subnets, security groups and named nodes. Validated with a
// clear message per bad field, because a typo here otherwise surfaces as a confusing EC2 error much later.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { instanceLimits } from '@vpc-cni/shared/limits';
import type { SimOptions } from '../sim/index.js';

export interface NodeSpec {
  name: string;
  type: string;
  /** Subnet id, or its index in `subnets` (default 0). */
  subnet?: string | number;
  groups?: string[];
  imdsLagMs?: number;
}

export interface WorldFile {
  vpc: SimOptions['vpc'];
  subnets: SimOptions['subnets'];
  securityGroups?: SimOptions['securityGroups'];
  /** "zero" (default) or "realistic" EC2 latencies. */
  timing?: 'zero' | 'realistic';
  nodes: NodeSpec[];
}

export class WorldFileError extends Error {}

const fail = (path: string, msg: string): never => {
  throw new WorldFileError(`world file: ${path}: ${msg}`);
};

export function parseWorldFile(text: string): WorldFile {
  const doc = parse(text) as Partial<WorldFile> | null;
  if (!doc || typeof doc !== 'object') return fail('(top)', 'expected a mapping with vpc, subnets, nodes');
  if (!doc.vpc || !Array.isArray(doc.vpc.cidrs) || doc.vpc.cidrs.length === 0)
    fail('vpc.cidrs', 'a list of 1–5 IPv4 CIDRs is required');
  if (!Array.isArray(doc.subnets) || doc.subnets.length === 0)
    fail('subnets', 'at least one subnet {cidr, az} is required');
  doc.subnets!.forEach((s, i) => {
    if (typeof s.cidr !== 'string') fail(`subnets[${i}].cidr`, 'missing');
    if (typeof s.az !== 'string') fail(`subnets[${i}].az`, 'missing (e.g. us-west-2a)');
  });
  if (!Array.isArray(doc.nodes) || doc.nodes.length === 0) fail('nodes', 'at least one node {name, type}');
  const names = new Set<string>();
  doc.nodes!.forEach((n, i) => {
    if (typeof n.name !== 'string' || !/^[a-z0-9-]{1,40}$/.test(n.name))
      fail(`nodes[${i}].name`, 'lower-case letters, digits and dashes');
    if (names.has(n.name)) fail(`nodes[${i}].name`, `duplicate name ${n.name}`);
    names.add(n.name);
    if (typeof n.type !== 'string' || !instanceLimits(n.type))
      fail(`nodes[${i}].type`, `unknown instance type ${String(n.type)}`);
    if (typeof n.subnet === 'number' && !doc.subnets![n.subnet])
      fail(`nodes[${i}].subnet`, `no subnet at index ${n.subnet}`);
  });
  if (doc.timing !== undefined && doc.timing !== 'zero' && doc.timing !== 'realistic')
    fail('timing', 'zero or realistic');
  return doc as WorldFile;
}

export const readWorldFile = (path: string): WorldFile => parseWorldFile(readFileSync(path, 'utf8'));
