// The node-wide iptables state of docs/architecture.md#host-networking as data: SNAT chain, connmark chain
// and marks, mangle restore rules, the node-local egress REJECT. Rules are written exactly as iptables-save
// prints them. Decision: the connmark rules always use the iptables form (docs/architecture.md#decisions,
// 13), also on nft-based nodes where upstream writes a native `table ip aws-cni`; that table, if an upstream
// ipamd left one, is removed (see apply.ts).
import type { TableSpec } from '@vpc-cni/shared/iptables';

export interface HostNetSettings {
  ipv6: boolean;
  vpcCidrs: string[];
  excludeSnatCidrs: string[];
  externalSnat: boolean;
  randomizeSnat: 'none' | 'hashrandom' | 'prng';
  nodePortSupport: boolean;
  connmark: number;
  vethPrefix: string;
  primaryIf: string;
  primaryIp: string;
  v6Egress: boolean;
  v4Egress: boolean;
  externalServiceCidrs: string[];
  podEniStrict: boolean;
}

export const SNAT_CHAIN = 'AWS-SNAT-CHAIN-0';
export const CONNMARK_CHAIN = 'AWS-CONNMARK-CHAIN-0';

const hex = (n: number) => `0x${n.toString(16)}`;
const dst = (cidr: string) => (cidr === '0.0.0.0/0' ? '' : `-d ${cidr} `);
const isOurs = (r: string) => /--comment "(AWS|Block Node Local Pod access via)/.test(r);
const isStaleChain = (c: string) => /^AWS-(SNAT|CONNMARK)-CHAIN-\d+$/.test(c);

function snatFlag(mode: HostNetSettings['randomizeSnat']): string {
  return mode === 'prng' ? ' --random-fully' : mode === 'hashrandom' ? ' --random' : '';
}

export function desiredV4(s: HostNetSettings): TableSpec[] {
  const m = hex(s.connmark);
  const snat = !s.ipv6 && !s.externalSnat;
  const nat: TableSpec = { table: 'nat', owned: new Map(), shared: new Map(), isOurs, isStaleChain };
  const mangle: TableSpec = { table: 'mangle', owned: new Map(), shared: new Map(), isOurs, isStaleChain };
  const filter: TableSpec = {
    table: 'filter',
    owned: new Map(),
    shared: new Map(),
    sharedFirst: new Set(['FORWARD']),
    isOurs,
    isStaleChain,
  };
  if (!s.ipv6) {
    // RETURN rules were inserted at position 1 one by one upstream, so the chain lists them last-first.
    const returns = [
      ...[...s.excludeSnatCidrs]
        .reverse()
        .map((c) => `${dst(c)}-m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN`),
      ...[...s.vpcCidrs].reverse().map((c) => `${dst(c)}-m comment --comment "AWS SNAT CHAIN" -j RETURN`),
    ];
    const final = `! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source ${s.primaryIp}${snatFlag(s.randomizeSnat)}`;
    nat.owned.set(SNAT_CHAIN, snat ? [...returns, final] : []);
    nat.shared.set('POSTROUTING', snat ? [`-m comment --comment "AWS SNAT CHAIN" -j ${SNAT_CHAIN}`] : []);
  }
  const prerouting: string[] = [];
  if (snat) {
    const exempt = [...s.vpcCidrs, ...s.excludeSnatCidrs].reverse();
    nat.owned.set(CONNMARK_CHAIN, [
      ...exempt.map((c) => `${dst(c)}-m comment --comment "AWS CONNMARK CHAIN" -j RETURN`),
      `-m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark ${m}/${m}`,
    ]);
    prerouting.push(
      `-i ${s.vethPrefix}+ -m comment --comment "AWS, outbound connections" -j ${CONNMARK_CHAIN}`,
      `-m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask ${m} --ctmask ${m}`,
    );
  }
  nat.shared.set('PREROUTING', prerouting);
  const restore = (iface: string) =>
    `-i ${iface} -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask ${m} --ctmask ${m}`;
  const mangleRules: string[] = [];
  if (!s.ipv6) {
    if (s.nodePortSupport)
      mangleRules.push(
        `-i ${s.primaryIf} -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark ${m}/${m}`,
      );
    if (s.nodePortSupport || !s.externalSnat) mangleRules.push(restore(`${s.vethPrefix}+`));
    if (s.nodePortSupport) mangleRules.push(restore('vlan+'));
  }
  mangle.shared.set('PREROUTING', mangleRules);
  filter.shared.set(
    'FORWARD',
    s.ipv6 && s.v4Egress
      ? [
          '-d 169.254.172.0/22 -m conntrack --ctstate NEW -m comment --comment "Block Node Local Pod access via IPv4" -j REJECT --reject-with icmp-port-unreachable',
        ]
      : [],
  );
  return [nat, mangle, filter];
}

export function desiredV6(s: HostNetSettings): TableSpec[] {
  const filter: TableSpec = {
    table: 'filter',
    owned: new Map(),
    shared: new Map(),
    sharedFirst: new Set(['FORWARD']),
    isOurs,
    isStaleChain,
  };
  filter.shared.set(
    'FORWARD',
    !s.ipv6 && s.v6Egress
      ? [
          '-d fd00::ac:0/118 -m conntrack --ctstate NEW -m comment --comment "Block Node Local Pod access via IPv6" -j REJECT --reject-with icmp6-port-unreachable',
        ]
      : [],
  );
  return [filter];
}
