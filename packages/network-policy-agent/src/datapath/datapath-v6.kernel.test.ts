// The IPv6 datapath against the real kernel (see datapath.kernel.test.ts for IPv4).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodState, PROTO_TCP, PROTO_UDP, type FlowEvent } from './contract.js';
import { EbpfDatapath } from './datapath.js';
import { createWorld, type World } from '../../test/world.js';

const KEY = 'db@prod';

describe('eBPF datapath, IPv6 (kernel)', () => {
  let w: World;
  let dp: EbpfDatapath;
  const events: FlowEvent[] = [];
  let stopEvents: () => Promise<void>;

  beforeAll(async () => {
    w = await createWorld('dp6');
    dp = new EbpfDatapath({ family: 'ipv6', pinRoot: w.pinRoot, netns: `/var/run/netns/${w.node}` });
    stopEvents = dp.readEvents((e) => events.push(e));
  });
  afterAll(async () => {
    await stopEvents?.();
    dp?.close();
    w?.cleanup();
  });

  it('strict from the first packet; ICMPv6 (neighbour discovery) still passes; IPv4 is not judged', async () => {
    dp.attach(KEY, [w.veth], { np: PodState.DefaultDeny, cp: PodState.DefaultAllow });
    expect(await w.peerProbe.tcp(w.podIp6, 80, 1)).toBe(false);
    expect(await w.podProbe.tcp(w.peerIp6, 80, 1)).toBe(false);
    expect(await w.peerProbe.tcp(w.podIp, 80)).toBe(true); // the v6 programs pass IPv4 untouched
    const ev = events.find((e) => e.srcIp === w.peerIp6 && e.destPort === 80);
    expect(ev).toMatchObject({
      destIp: w.podIp6,
      verdict: 'DENY',
      tier: 4,
      protocol: PROTO_TCP,
      isEgress: false,
    });
  });

  it('a /64 with TCP 80 and UDP 53 admits exactly those; replies pass through conntrack', async () => {
    dp.writePolicy(
      KEY,
      'ingress',
      new Map([
        [
          'fd77:2::/64',
          [
            { protocol: PROTO_TCP, startPort: 80, endPort: 0 },
            { protocol: PROTO_UDP, startPort: 53, endPort: 0 },
          ],
        ],
      ]),
    );
    dp.setState(KEY, 'ingress', 'np', PodState.PoliciesApplied);
    expect(await w.peerProbe.tcp(w.podIp6, 80)).toBe(true);
    expect(await w.peerProbe.udp(w.podIp6, 53)).toBe(true);
    expect(await w.peerProbe.tcp(w.podIp6, 81, 1)).toBe(false);
    expect(await w.podProbe.tcp(w.peerIp6, 80, 1)).toBe(false); // egress still default deny
    expect(dp.readPolicy(KEY, 'ingress').get('fd77:2::/64')).toHaveLength(2);
    const ev = events.find((e) => e.verdict === 'ACCEPT' && e.destIp === w.podIp6 && e.destPort === 80);
    expect(ev).toMatchObject({ srcIp: w.peerIp6, tier: 2 });
  });

  it('flushes conntrack entries owned by the pod', async () => {
    dp.setState(KEY, 'egress', 'np', PodState.DefaultAllow);
    expect(await w.podProbe.tcp(w.peerIp6, 80)).toBe(true);
    expect(dp.flushConntrack(w.podIp6)).toBeGreaterThan(0);
    expect(dp.flushConntrack(w.podIp6)).toBe(0);
  });
});
