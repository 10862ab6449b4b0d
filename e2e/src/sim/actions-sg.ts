// EC2 Query actions for security-group rules: AuthorizeSecurityGroupIngress and RevokeSecurityGroupIngress with
// IpPermissions (protocol, port range, IpRanges CIDRs, Groups as sources), EC2's errors for duplicates and
// missing rules. The fabric enforces the rules (e2e/src/vpc/security-groups.ts).
import type { Ctx } from './actions.js';
import { Ec2Error, invalidParam, missingParam, notFoundGroup } from './errors.js';
import type { Params } from './query.js';
import type { SgRule } from './types.js';
import type { XmlObject } from './xml.js';

type Handler = (c: Ctx) => XmlObject;

const PROTOCOLS: Record<string, string> = {
  tcp: 'tcp',
  '6': 'tcp',
  udp: 'udp',
  '17': 'udp',
  icmp: 'icmp',
  '1': 'icmp',
  '-1': '-1',
  all: '-1',
};

/** Each permission split per source, the way EC2 stores (and matches) rules. */
function permissions(p: Params): SgRule[] {
  const out: SgRule[] = [];
  for (const i of p.indexes('IpPermissions')) {
    const base = `IpPermissions.${i}`;
    const raw = (p.get(`${base}.IpProtocol`) ?? '').toLowerCase();
    const protocol = PROTOCOLS[raw];
    if (!protocol) throw invalidParam(`Invalid value '${raw}' for IP protocol. Unknown protocol.`);
    const ports = protocol === 'tcp' || protocol === 'udp';
    const fromPort = ports ? (p.int(`${base}.FromPort`) ?? -1) : -1;
    const toPort = ports ? (p.int(`${base}.ToPort`) ?? -1) : -1;
    if (ports && (fromPort < 0 || toPort > 65535 || fromPort > toPort))
      throw invalidParam(`Invalid port range ${fromPort}-${toPort} for ${protocol}.`);
    const cidrs = p.indexes(`${base}.IpRanges`).map((j) => p.get(`${base}.IpRanges.${j}.CidrIp`) ?? '');
    const groups = p.indexes(`${base}.Groups`).map((j) => p.get(`${base}.Groups.${j}.GroupId`) ?? '');
    if (cidrs.length + groups.length === 0)
      throw missingParam('IpPermissions.IpRanges or IpPermissions.Groups');
    for (const c of cidrs) {
      if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c)) throw invalidParam(`CIDR block ${c} is malformed`);
      out.push({ protocol, fromPort, toPort, cidrs: [c], groups: [] });
    }
    for (const g of groups) out.push({ protocol, fromPort, toPort, cidrs: [], groups: [g] });
  }
  if (out.length === 0) throw missingParam('IpPermissions');
  return out;
}

const same = (a: SgRule, b: SgRule) =>
  a.protocol === b.protocol &&
  a.fromPort === b.fromPort &&
  a.toPort === b.toPort &&
  a.cidrs.join() === b.cidrs.join() &&
  a.groups.join() === b.groups.join();

const authorize: Handler = ({ w, p }) => {
  const id = p.required('GroupId');
  const g = w.groups.get(id);
  if (!g) throw notFoundGroup(id);
  const rules = permissions(p);
  for (const r of rules) for (const src of r.groups) if (!w.groups.has(src)) throw notFoundGroup(src);
  const have = g.ingress ?? [];
  for (const r of rules)
    if (have.some((h) => same(h, r)))
      throw new Ec2Error(
        'InvalidPermission.Duplicate',
        `the specified rule "peer: ${r.cidrs[0] ?? r.groups[0]}, ${r.protocol.toUpperCase()}, from port: ${r.fromPort}, to port: ${r.toPort}, ALLOW" already exists`,
      );
  g.ingress = [...have, ...rules];
  w.changed();
  return { return: true };
};

const revoke: Handler = ({ w, p }) => {
  const id = p.required('GroupId');
  const g = w.groups.get(id);
  if (!g) throw notFoundGroup(id);
  const rules = permissions(p);
  const have = g.ingress ?? [];
  for (const r of rules)
    if (!have.some((h) => same(h, r)))
      throw new Ec2Error(
        'InvalidPermission.NotFound',
        'The specified rule does not exist in this security group.',
      );
  g.ingress = have.filter((h) => !rules.some((r) => same(h, r)));
  w.changed();
  return { return: true };
};

export const securityGroupActions: Record<string, Handler> = {
  AuthorizeSecurityGroupIngress: authorize,
  RevokeSecurityGroupIngress: revoke,
};
