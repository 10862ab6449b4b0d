// Property: for random policies and random packets, the compiled map content evaluated with the datapath's
// lookup gives the same verdict as the reference evaluator working from the rules themselves.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PodState } from '../datapath/contract.js';
import { catchAll, compileNpMap } from './compile.js';
import { newFlowVerdict } from './lookup.js';
import { referenceAllows } from './reference.js';
import type { DirectionPolicy, PolicyRule, PortSpec } from './types.js';

const NODE_V4 = '10.1.0.9';
const NODE_V6 = 'fd00:1::9';

// Addresses from a small space so rules, excepts and packets overlap often.
const v4Octet = fc.constantFrom(0, 1, 2, 128, 255);
const v4Addr = fc.tuple(fc.constantFrom(10, 192), v4Octet, v4Octet, v4Octet).map((o) => o.join('.'));
const v6Addr = fc
  .tuple(fc.constantFrom('fd00', 'fd01'), fc.constantFrom(0, 1, 0xff), fc.constantFrom(0, 1, 9, 0x80))
  .map(([a, b, c]) => `${a}:${b.toString(16)}::${c.toString(16)}`);

const cidrOf = (addr: fc.Arbitrary<string>, lens: number[]) =>
  fc
    .tuple(addr, fc.constantFrom(...lens), fc.boolean())
    .map(([a, l, bare]) => (bare && (l === 32 || l === 128) ? a : `${a}/${l}`));
const v4Cidr = cidrOf(v4Addr, [0, 1, 8, 16, 24, 25, 32]);
const v6Cidr = cidrOf(v6Addr, [0, 8, 16, 32, 64, 120, 128]);

const PORTS = [1, 53, 79, 80, 81, 82, 443, 8080, 65535];
const portSpec: fc.Arbitrary<PortSpec> = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'ANY_IP_PROTOCOL') }),
  fc.record({
    protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 'ANY_IP_PROTOCOL'),
    port: fc.constantFrom(...PORTS),
  }),
  fc
    .tuple(fc.constantFrom('TCP', 'UDP', 'SCTP'), fc.constantFrom(...PORTS), fc.integer({ min: 0, max: 400 }))
    .map(([protocol, port, span]) => ({ protocol, port, endPort: Math.min(65535, port + span) })),
  fc.record({ port: fc.constantFrom(...PORTS) }), // protocol defaults to TCP
);

function ruleArb(cidr: fc.Arbitrary<string>, otherFamily: fc.Arbitrary<string>): fc.Arbitrary<PolicyRule> {
  return fc.record({
    cidr: fc.oneof({ weight: 9, arbitrary: cidr }, { weight: 1, arbitrary: otherFamily }),
    except: fc.array(fc.oneof({ weight: 4, arbitrary: cidr }, { weight: 1, arbitrary: otherFamily }), {
      maxLength: 3,
    }),
    ports: fc.array(portSpec, { maxLength: 4 }),
    policy: fc.constantFrom('ns/p1', 'ns/p2', 'ns/p3'),
  });
}

const dirArb = (cidr: fc.Arbitrary<string>, other: fc.Arbitrary<string>): fc.Arbitrary<DirectionPolicy> =>
  fc.record({ isolated: fc.boolean(), rules: fc.array(ruleArb(cidr, other), { maxLength: 6 }) });

// ICMP (1) carries no ports; the others pick a destination port.
const packet = (addr: fc.Arbitrary<string>, node: string) =>
  fc
    .record({
      remote: fc.oneof({ weight: 9, arbitrary: addr }, { weight: 1, arbitrary: fc.constant(node) }),
      protocol: fc.constantFrom(6, 17, 132, 1),
      dport: fc.constantFrom(0, ...PORTS, 100, 300, 1000),
    })
    .map((p) => (p.protocol === 1 ? { ...p, dport: 0 } : p));

function check(
  family: 'ipv4' | 'ipv6',
  nodeIp: string,
  d: DirectionPolicy,
  packets: { remote: string; protocol: number; dport: number }[],
) {
  const rules = d.isolated ? d.rules : [catchAll(family)];
  const { content, issues } = compileNpMap(rules, { family, nodeIp });
  for (const [, entries] of content) expect(entries.length).toBeLessThanOrEqual(24);
  const overflow = issues.some((i) => i.kind === 'too-many-ports');
  for (const p of packets) {
    const got = newFlowVerdict(content, PodState.PoliciesApplied, p.remote, p.protocol, p.dport) === 'allow';
    const want = referenceAllows(d, nodeIp, p.remote, p.protocol, p.dport);
    // Over the entry limit a prefix fails closed: the compiled map may deny more, never allow more.
    if (overflow) expect(!got || want).toBe(true);
    else expect({ ...p, got }).toEqual({ ...p, got: want });
  }
}

describe('compiled NP maps agree with the reference evaluator', () => {
  it('IPv4: random policies, random packets', () => {
    fc.assert(
      fc.property(
        dirArb(v4Cidr, v6Cidr),
        fc.array(packet(v4Addr, NODE_V4), { minLength: 20, maxLength: 40 }),
        (d, ps) => check('ipv4', NODE_V4, d, ps),
      ),
      { numRuns: 400 },
    );
  });

  it('IPv6: random policies, random packets', () => {
    fc.assert(
      fc.property(
        dirArb(v6Cidr, v4Cidr),
        fc.array(packet(v6Addr, NODE_V6), { minLength: 20, maxLength: 40 }),
        (d, ps) => check('ipv6', NODE_V6, d, ps),
      ),
      { numRuns: 200 },
    );
  });
});
