import { describe, expect, it } from 'vitest';
import { flowLine } from './format.js';

const ev = {
  srcIp: '10.0.1.7',
  srcPort: 40000,
  destIp: '10.0.1.9',
  destPort: 80,
  protocol: 6,
  packetSize: 60,
  isEgress: false,
  tier: 2,
};

describe('flow log lines', () => {
  it("IPv4: upstream's message, DENY at info, ACCEPT at debug, the old structured keys as fields", () => {
    expect(flowLine({ ...ev, verdict: 'DENY' }, 'ipv4')).toEqual({
      level: 'info',
      msg: 'Flow Info: Src IP: 10.0.1.7 Src Port: 40000 Dest IP: 10.0.1.9 Dest Port: 80 Proto TCP Verdict DENY Direction ingress, Tier NETWORK_POLICY',
      fields: {
        'Src IP': '10.0.1.7',
        'Src Port': 40000,
        'Dest IP': '10.0.1.9',
        'Dest Port': 80,
        Proto: 'TCP',
        Verdict: 'DENY',
        Direction: 'ingress',
        Tier: 'NETWORK_POLICY',
      },
    });
    expect(flowLine({ ...ev, verdict: 'ACCEPT', protocol: 99, tier: 4, isEgress: true }, 'ipv4').level).toBe(
      'debug',
    );
    expect(
      flowLine({ ...ev, verdict: 'ACCEPT', protocol: 99, tier: 4, isEgress: true }, 'ipv4').msg,
    ).toContain('Proto UNKNOWN Verdict ACCEPT Direction egress, Tier DEFAULT');
  });

  it('IPv6: colons after Proto, Verdict, Direction, Tier and no comma', () => {
    expect(
      flowLine({ ...ev, srcIp: 'fd00::7', destIp: 'fd00::9', verdict: 'DENY', protocol: 17 }, 'ipv6').msg,
    ).toBe(
      'Flow Info: Src IP: fd00::7 Src Port: 40000 Dest IP: fd00::9 Dest Port: 80 Proto: UDP Verdict: DENY Direction: ingress Tier: NETWORK_POLICY',
    );
  });
});
