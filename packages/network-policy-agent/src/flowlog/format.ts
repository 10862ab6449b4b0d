// Flow events → upstream's log line and CloudWatch record text (package README "Flow logs"). Pure.
import type { Family, FlowEvent } from '../datapath/contract.js';

const PROTOCOLS: Record<number, string> = {
  6: 'TCP',
  17: 'UDP',
  132: 'SCTP',
  1: 'ICMP',
  255: 'RESERVED',
  254: 'ANY PROTOCOL',
};
const TIERS = ['ERROR', 'ADMIN', 'NETWORK_POLICY', 'BASELINE', 'DEFAULT'];

export const protocolName = (p: number): string => PROTOCOLS[p] ?? 'UNKNOWN';
export const tierName = (t: number): string => TIERS[t] ?? 'UNKNOWN';
export const directionOf = (e: FlowEvent): 'ingress' | 'egress' => (e.isEgress ? 'egress' : 'ingress');

export interface FlowLine {
  level: 'info' | 'debug';
  msg: string;
  /** The keys older agents logged, kept as structured fields (a superset of both shapes). */
  fields: Record<string, string | number>;
}

export function flowLine(e: FlowEvent, family: Family): FlowLine {
  const proto = protocolName(e.protocol);
  const dir = directionOf(e);
  const tier = tierName(e.tier);
  const msg =
    family === 'ipv4'
      ? `Flow Info: Src IP: ${e.srcIp} Src Port: ${e.srcPort} Dest IP: ${e.destIp} Dest Port: ${e.destPort} ` +
        `Proto ${proto} Verdict ${e.verdict} Direction ${dir}, Tier ${tier}`
      : `Flow Info: Src IP: ${e.srcIp} Src Port: ${e.srcPort} Dest IP: ${e.destIp} Dest Port: ${e.destPort} ` +
        `Proto: ${proto} Verdict: ${e.verdict} Direction: ${dir} Tier: ${tier}`;
  return {
    level: e.verdict === 'DENY' ? 'info' : 'debug',
    msg,
    fields: {
      'Src IP': e.srcIp,
      'Src Port': e.srcPort,
      'Dest IP': e.destIp,
      'Dest Port': e.destPort,
      Proto: proto,
      Verdict: e.verdict,
      Direction: dir,
      Tier: tier,
    },
  };
}

export function cloudWatchRecord(e: FlowEvent, nodeName: string): string {
  return (
    `Node: ${nodeName};SIP: ${e.srcIp};SPORT: ${e.srcPort};DIP: ${e.destIp};DPORT: ${e.destPort};` +
    `PROTOCOL: ${protocolName(e.protocol)};PolicyVerdict: ${e.verdict};Tier: ${tierName(e.tier)}`
  );
}
