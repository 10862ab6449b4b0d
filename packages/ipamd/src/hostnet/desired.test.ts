import { describe, expect, it } from 'vitest';
import { planTable, parseSave } from '@vpc-cni/shared/iptables';
import { type HostNetSettings, desiredV4, desiredV6 } from './index.js';

export const BASE: HostNetSettings = {
  ipv6: false,
  vpcCidrs: ['10.0.0.0/16', '10.1.0.0/16'],
  excludeSnatCidrs: [],
  externalSnat: false,
  randomizeSnat: 'prng',
  nodePortSupport: true,
  connmark: 0x80,
  vethPrefix: 'eni',
  primaryIf: 'eth0',
  primaryIp: '10.0.0.5',
  v6Egress: false,
  v4Egress: true,
  externalServiceCidrs: [],
  podEniStrict: false,
};

const table = (s: HostNetSettings, name: string) => desiredV4(s).find((t) => t.table === name);

describe('desired host iptables (docs/architecture.md#host-networking)', () => {
  it('defaults: SNAT chain with VPC RETURNs last-first and the final SNAT, connmark chain, mangle restores', () => {
    const nat = table(BASE, 'nat');
    expect(nat?.owned.get('AWS-SNAT-CHAIN-0')).toEqual([
      '-d 10.1.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
      '-d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
      '! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.0.5 --random-fully',
    ]);
    expect(nat?.shared.get('POSTROUTING')).toEqual([
      '-m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0',
    ]);
    expect(nat?.owned.get('AWS-CONNMARK-CHAIN-0')).toEqual([
      '-d 10.1.0.0/16 -m comment --comment "AWS CONNMARK CHAIN" -j RETURN',
      '-d 10.0.0.0/16 -m comment --comment "AWS CONNMARK CHAIN" -j RETURN',
      '-m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80',
    ]);
    expect(nat?.shared.get('PREROUTING')).toEqual([
      '-i eni+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0',
      '-m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
    ]);
    expect(table(BASE, 'mangle')?.shared.get('PREROUTING')).toEqual([
      '-i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80',
      '-i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
      '-i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
    ]);
  });

  it('exclusions come first (last-first), 0.0.0.0/0 without -d; SNAT flag per RANDOMIZESNAT', () => {
    const s = {
      ...BASE,
      vpcCidrs: ['10.0.0.0/16'],
      excludeSnatCidrs: ['192.168.0.0/16', '0.0.0.0/0'],
      randomizeSnat: 'hashrandom' as const,
    };
    expect(table(s, 'nat')?.owned.get('AWS-SNAT-CHAIN-0')).toEqual([
      '-m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN',
      '-d 192.168.0.0/16 -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN',
      '-d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
      '! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.0.5 --random',
    ]);
    const none = table({ ...BASE, randomizeSnat: 'none' }, 'nat')?.owned.get('AWS-SNAT-CHAIN-0');
    expect(none?.at(-1)).toMatch(/--to-source 10\.0\.0\.5$/);
  });

  it('external SNAT: empty SNAT chain, no jump, no connmark; node-port support keeps the mangle rules', () => {
    const nat = table({ ...BASE, externalSnat: true }, 'nat');
    expect(nat?.owned.get('AWS-SNAT-CHAIN-0')).toEqual([]);
    expect(nat?.shared.get('POSTROUTING')).toEqual([]);
    expect(nat?.owned.has('AWS-CONNMARK-CHAIN-0')).toBe(false);
    expect(nat?.shared.get('PREROUTING')).toEqual([]);
    expect(table({ ...BASE, externalSnat: true }, 'mangle')?.shared.get('PREROUTING')).toHaveLength(3);
    expect(
      table({ ...BASE, externalSnat: true, nodePortSupport: false }, 'mangle')?.shared.get('PREROUTING'),
    ).toEqual([]);
    expect(table({ ...BASE, nodePortSupport: false }, 'mangle')?.shared.get('PREROUTING')).toEqual([
      '-i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
    ]);
  });

  it('IPv6 cluster: no SNAT or connmark, the node-local IPv4 egress REJECT first in FORWARD', () => {
    const s = { ...BASE, ipv6: true };
    expect(table(s, 'nat')?.owned.size).toBe(0);
    expect(table(s, 'filter')?.shared.get('FORWARD')).toEqual([
      '-d 169.254.172.0/22 -m conntrack --ctstate NEW -m comment --comment "Block Node Local Pod access via IPv4" -j REJECT --reject-with icmp-port-unreachable',
    ]);
    expect(desiredV6({ ...BASE, v6Egress: true })[0]?.shared.get('FORWARD')?.[0]).toMatch(
      /fd00::ac:0\/118 .* IPv6/,
    );
  });

  it('the plan touches only our rules and nothing when converged', () => {
    const live = parseSave(
      [
        '*nat',
        ':POSTROUTING ACCEPT [0:0]',
        ':AWS-SNAT-CHAIN-1 - [0:0]',
        '-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE',
        '-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-1',
        'COMMIT',
      ].join('\n'),
    );
    const spec = desiredV4(BASE).find((t) => t.table === 'nat');
    const script = planTable(spec as NonNullable<typeof spec>, live.get('nat'));
    expect(script).not.toContain('MASQUERADE');
    expect(script).toContain('-D POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-1');
    expect(script).toContain('-X AWS-SNAT-CHAIN-1');
  });
});
