import { describe, expect, it } from 'vitest';
import { PROTO_ANY, PROTO_DENY, PROTO_TCP, PROTO_UDP, PodState } from '../datapath/contract.js';
import { compileNpMap } from './compile.js';
import { newFlowVerdict } from './lookup.js';
import type { PolicyRule } from './types.js';

const NODE = '192.168.0.10';
const rule = (
  cidr: string,
  ports: PolicyRule['ports'] = [],
  except: string[] = [],
  policy = 'x/p',
): PolicyRule => ({
  cidr,
  except,
  ports,
  policy,
});
const compile = (rules: PolicyRule[]) => compileNpMap(rules, { family: 'ipv4', nodeIp: NODE });
const obj = (m: ReadonlyMap<string, unknown>) => Object.fromEntries(m);
const allow = (c: ReturnType<typeof compile>['content'], ip: string, proto: number, port: number) =>
  newFlowVerdict(c, PodState.PoliciesApplied, ip, proto, port) === 'allow';

describe('compileNpMap', () => {
  it('isolated with no rules: only the node IP, allowed for everything', () => {
    const r = compile([]);
    expect(obj(r.content)).toEqual({
      '192.168.0.10/32': [{ protocol: PROTO_ANY, startPort: 0, endPort: 0 }],
    });
    expect(allow(r.content, NODE, 1, 0)).toBe(true);
    expect(allow(r.content, '192.168.0.11', PROTO_TCP, 80)).toBe(false);
  });

  it('canonicalises CIDRs and bare IPs, merges ports per protocol, drops ranges an any-protocol entry covers', () => {
    const r = compile([
      rule('10.161.0.0/8', [
        { protocol: 'TCP', port: 80 },
        { protocol: 'TCP', port: 81, endPort: 90 },
      ]),
      rule('10.0.0.0/8', [
        { protocol: 'UDP', port: 53 },
        { protocol: 'ANY_IP_PROTOCOL', port: 85 },
      ]),
      rule('10.2.3.4', [{ port: 443 }]),
    ]);
    expect(obj(r.content)).toEqual({
      '10.0.0.0/8': [
        { protocol: PROTO_ANY, startPort: 85, endPort: 0 },
        { protocol: PROTO_TCP, startPort: 80, endPort: 90 },
        { protocol: PROTO_UDP, startPort: 53, endPort: 0 },
      ],
      // the /32 inherits the /8's ports: LPM never falls back to a shorter prefix
      '10.2.3.4/32': [
        { protocol: PROTO_ANY, startPort: 85, endPort: 0 },
        { protocol: PROTO_TCP, startPort: 80, endPort: 90 },
        { protocol: PROTO_TCP, startPort: 443, endPort: 0 },
        { protocol: PROTO_UDP, startPort: 53, endPort: 0 },
      ],
      '192.168.0.10/32': [{ protocol: PROTO_ANY, startPort: 0, endPort: 0 }],
    });
    expect(r.issues).toEqual([]);
  });

  it('an except does not deny what another rule allows (upstream E13; cases T16, T17)', () => {
    const t17 = compile([rule('0.0.0.0/0'), rule('10.0.0.0/8', [], ['10.1.2.3/32'])]);
    expect(allow(t17.content, '10.1.2.3', PROTO_TCP, 80)).toBe(true);
    const t16 = compile([
      rule('172.16.0.0/16', [{ protocol: 'TCP', port: 3306 }]),
      rule('0.0.0.0/0', [], ['172.16.0.0/16']),
    ]);
    expect(allow(t16.content, '172.16.5.5', PROTO_TCP, 3306)).toBe(true);
    expect(allow(t16.content, '172.16.5.5', PROTO_TCP, 3307)).toBe(false);
    expect(allow(t16.content, '8.8.8.8', PROTO_UDP, 53)).toBe(true);
    const alone = compile([rule('10.0.0.0/8', [], ['10.1.0.0/16'])]);
    expect(alone.content.get('10.1.0.0/16')).toEqual([{ protocol: PROTO_DENY, startPort: 0, endPort: 0 }]);
    expect(allow(alone.content, '10.1.0.1', PROTO_TCP, 80)).toBe(false);
    expect(allow(alone.content, '10.2.0.1', PROTO_TCP, 80)).toBe(true);
  });

  it('ignores rules and excepts of the other family (upstream E38)', () => {
    const r = compile([rule('::/0', [], ['fd00::/8']), rule('0.0.0.0/0', [], ['fd00::/8'])]);
    expect([...r.content.keys()].sort()).toEqual(['0.0.0.0/0', '192.168.0.10/32']);
  });

  it('more than 24 entries for one CIDR: that prefix fails closed and the policy is named', () => {
    const ports = Array.from({ length: 25 }, (_, i) => ({ protocol: 'TCP', port: 1000 + 2 * i }));
    const r = compile([rule('10.0.0.0/24', ports, [], 'x/many-ports'), rule('10.0.1.0/24', [{ port: 22 }])]);
    expect(r.content.get('10.0.0.0/24')).toEqual([{ protocol: PROTO_DENY, startPort: 0, endPort: 0 }]);
    expect(r.issues).toEqual([
      { kind: 'too-many-ports', cidr: '10.0.0.0/24', count: 25, policies: ['x/many-ports'] },
    ]);
    expect(allow(r.content, '10.0.1.1', PROTO_TCP, 22)).toBe(true);
    // adjacent ports merge into a range, so 25 consecutive ports fit in one entry
    const merged = compile([
      rule(
        '10.0.0.0/24',
        Array.from({ length: 25 }, (_, i) => ({ port: 1000 + i })),
      ),
    ]);
    expect(merged.content.get('10.0.0.0/24')).toEqual([
      { protocol: PROTO_TCP, startPort: 1000, endPort: 1024 },
    ]);
  });

  it('a rule with an unreadable CIDR, except or port is dropped whole and reported', () => {
    const r = compile([
      rule('10.0.0.0/33'),
      rule('10.0.0.0/8', [], ['not-a-cidr']),
      rule('11.0.0.0/8', [{ protocol: 'ICMP' }]),
      rule('12.0.0.0/8', [{ port: 80, endPort: 79 }]),
    ]);
    expect(r.issues.map((i) => i.kind)).toEqual(['bad-cidr', 'bad-cidr', 'bad-port', 'bad-port']);
    expect([...r.content.keys()]).toEqual(['192.168.0.10/32']);
  });
});
