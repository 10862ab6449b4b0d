// The eBPF datapath against the real kernel: real traffic between throwaway namespaces (see test/world.ts),
// programs and maps pinned in a private bpffs. IPv4; IPv6 is in datapath-v6.kernel.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PodState,
  PROTO_ANY,
  PROTO_DENY,
  PROTO_SCTP,
  PROTO_TCP,
  PROTO_UDP,
  type FlowEvent,
} from './contract.js';
import { EbpfDatapath } from './datapath.js';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { closeFd, mapKeys, mapLookup, mapUpdate, openPin } from './bpf-object.js';
import { decodeCtKey, encodeCtKey } from './layout.js';
import { createWorld, type World } from '../../test/world.js';

const tcp = (startPort = 0, endPort = 0) => ({ protocol: PROTO_TCP, startPort, endPort });
const udp = (startPort = 0, endPort = 0) => ({ protocol: PROTO_UDP, startPort, endPort });
const any = { protocol: PROTO_ANY, startPort: 0, endPort: 0 };
const deny = { protocol: PROTO_DENY, startPort: 0, endPort: 0 };
const KEY = 'web@default';

describe('eBPF datapath, IPv4 (kernel)', () => {
  let w: World;
  let dp: EbpfDatapath;
  const events: FlowEvent[] = [];
  let stopEvents: () => Promise<void>;

  beforeAll(async () => {
    w = await createWorld('dp4');
    dp = new EbpfDatapath({ family: 'ipv4', pinRoot: w.pinRoot, netns: `/var/run/netns/${w.node}` });
    stopEvents = dp.readEvents((e) => events.push(e));
  });
  afterAll(async () => {
    await stopEvents?.();
    dp?.close();
    w?.cleanup();
  });

  /** Sets a fresh policy state: both directions' maps and states. */
  const policy = (
    ingress: Map<string, ReturnType<typeof tcp>[]> | 'allow' | 'deny',
    egress: Map<string, ReturnType<typeof tcp>[]> | 'allow' | 'deny',
  ) => {
    for (const [dir, p] of [
      ['ingress', ingress],
      ['egress', egress],
    ] as const) {
      if (p === 'allow' || p === 'deny') {
        dp.writePolicy(KEY, dir, new Map());
        dp.setState(KEY, dir, 'np', p === 'allow' ? PodState.DefaultAllow : PodState.DefaultDeny);
      } else {
        dp.writePolicy(KEY, dir, p);
        dp.setState(KEY, dir, 'np', PodState.PoliciesApplied);
      }
    }
    dp.flushConntrack();
  };

  it('strict: a new pod drops everything from its first packet, with DEFAULT deny events', async () => {
    dp.attach(KEY, [w.veth], { np: PodState.DefaultDeny, cp: PodState.DefaultAllow });
    expect(dp.getState(KEY, 'ingress', 'np')).toBe(PodState.DefaultDeny);
    expect(dp.getState(KEY, 'egress', 'cp')).toBe(PodState.DefaultAllow);
    expect(await w.peerProbe.tcp(w.podIp, 80, 1)).toBe(false);
    expect(await w.podProbe.tcp(w.peerIp, 80, 1)).toBe(false);
    await waitFor(() => events.some((e) => e.verdict === 'DENY' && e.tier === 4 && e.destPort === 80));
    const ev = events.find((e) => e.verdict === 'DENY' && e.srcIp === w.peerIp && e.destIp === w.podIp)!;
    expect(ev).toMatchObject({ destPort: 80, protocol: PROTO_TCP, isEgress: false, tier: 4 });
    expect(ev.srcPort).toBeGreaterThan(1023);
    expect(ev.packetSize).toBeGreaterThanOrEqual(40);
  });

  it('standard: default allow both ways; accept events carry tier DEFAULT', async () => {
    policy('allow', 'allow');
    expect(await w.peerProbe.tcp(w.podIp, 80)).toBe(true);
    expect(await w.podProbe.tcp(w.peerIp, 80)).toBe(true);
    await waitFor(() => events.some((e) => e.verdict === 'ACCEPT' && e.isEgress && e.destIp === w.peerIp));
  });

  it('a CIDR with one TCP port admits only that port; replies pass through conntrack', async () => {
    policy(new Map([['10.77.2.0/24', [tcp(8080)]]]), 'deny');
    expect(await w.peerProbe.tcp(w.podIp, 8080)).toBe(true); // the reply leaves through the denied egress
    expect(await w.peerProbe.tcp(w.podIp, 80, 1)).toBe(false);
    expect(await w.peerProbe.udp(w.podIp, 80, 1)).toBe(false);
    expect(await w.podProbe.tcp(w.peerIp, 8080, 1)).toBe(false); // egress isolated
    const np = events.find((e) => e.tier === 2 && e.verdict === 'ACCEPT' && e.destPort === 8080);
    expect(np).toMatchObject({
      srcIp: expect.stringMatching(/^10\.77\.2\./),
      destIp: w.podIp,
      isEgress: false,
    });
  });

  it('port ranges, UDP and any-protocol entries', async () => {
    policy(new Map([['10.77.2.0/24', [tcp(79, 81), udp(53)]]]), 'allow');
    expect(await w.peerProbe.tcp(w.podIp, 80)).toBe(true);
    expect(await w.peerProbe.tcp(w.podIp, 81)).toBe(true);
    expect(await w.peerProbe.tcp(w.podIp, 8080, 1)).toBe(false);
    expect(await w.peerProbe.udp(w.podIp, 53)).toBe(true);
    expect(await w.peerProbe.udp(w.podIp, 80, 1)).toBe(false);
    expect(await ping(w.peer, w.podIp)).toBe(false); // ICMP is neither TCP nor UDP
    policy(new Map([['10.77.2.0/24', [any]]]), 'allow');
    expect(await w.peerProbe.tcp(w.podIp, 9000)).toBe(true);
    expect(await w.peerProbe.udp(w.podIp, 80)).toBe(true);
    expect(await ping(w.peer, w.podIp)).toBe(true); // any protocol includes ICMP
  });

  it('LPM: a /32 entry overrides its /24; an except (deny marker) cuts a hole', async () => {
    policy(
      new Map([
        ['10.77.2.0/24', [tcp(80)]],
        ['10.77.2.3/32', [tcp(81)]],
      ]),
      'allow',
    );
    expect(await w.peerProbe.tcp(w.podIp, 80, 3, w.peerIp)).toBe(true);
    expect(await w.peerProbe.tcp(w.podIp, 81, 1, w.peerIp)).toBe(false);
    expect(await w.peerProbe.tcp(w.podIp, 81, 3, w.peerIp2)).toBe(true);
    expect(await w.peerProbe.tcp(w.podIp, 80, 1, w.peerIp2)).toBe(false);
    policy(
      new Map([
        ['10.77.2.0/24', [tcp(80)]],
        ['10.77.2.3/32', [deny]],
      ]),
      'allow',
    );
    expect(await w.peerProbe.tcp(w.podIp, 80, 3, w.peerIp)).toBe(true);
    expect(await w.peerProbe.tcp(w.podIp, 80, 1, w.peerIp2)).toBe(false);
  });

  it('SCTP (raw packets): only the allowed port reaches the pod', async () => {
    policy(new Map([['10.77.2.0/24', [{ protocol: PROTO_SCTP, startPort: 80, endPort: 0 }]]]), 'allow');
    const count = async (port: number) => (await w.podProbe.send({ op: 'sctp_count', port })).count ?? 0;
    const [c80, c81] = [await count(80), await count(81)];
    for (let i = 0; i < 3; i++) {
      await w.peerProbe.send({ op: 'sctp_send', dst: w.podIp, port: 80, sport: 40000 + i });
      await w.peerProbe.send({ op: 'sctp_send', dst: w.podIp, port: 81, sport: 41000 + i });
    }
    await waitFor(async () => (await count(80)) >= c80 + 3);
    await waitFor(() =>
      events.some((e) => e.protocol === PROTO_SCTP && e.destPort === 81 && e.verdict === 'DENY'),
    );
    expect(await count(81)).toBe(c81);
  });

  it('a removed rule stops new flows once conntrack is flushed; established same-state flows survive', async () => {
    policy(new Map([['10.77.2.0/24', [tcp(80)]]]), 'allow');
    expect((await w.peerProbe.send({ op: 'tcp_open', id: 'c1', dst: w.podIp, port: 80 })).ok).toBe(true);
    dp.writePolicy(KEY, 'ingress', new Map([['10.77.2.0/24', [tcp(81)]]]));
    expect((await w.peerProbe.send({ op: 'tcp_send', id: 'c1' })).ok).toBe(true); // same state: kept
    expect(await w.peerProbe.tcp(w.podIp, 80, 1)).toBe(false); // new flows: denied
    expect(dp.flushConntrack(w.podIp)).toBeGreaterThan(0);
    expect((await w.peerProbe.send({ op: 'tcp_send', id: 'c1', timeout: 1 })).ok).toBe(false);
    await w.peerProbe.send({ op: 'tcp_close', id: 'c1' });
  });

  it('a new TCP connection on the tuple of an admitted one is judged again (reused source port)', async () => {
    policy(new Map([['10.77.2.0/24', [tcp(80)]]]), 'allow');
    expect(await w.peerProbe.tcp(w.podIp, 80, 3, undefined, 45_001)).toBe(true);
    // Same state (POLICIES_APPLIED), port 80 no longer allowed; the first flow's conntrack entry is still there.
    dp.writePolicy(KEY, 'ingress', new Map([['10.77.2.0/24', [tcp(81)]]]));
    expect(await w.peerProbe.tcp(w.podIp, 80, 1, undefined, 45_001)).toBe(false);
    expect(await w.peerProbe.tcp(w.podIp, 81, 3, undefined, 45_001)).toBe(true);
  });

  it('T28: a state change re-judges established inbound flows: the peer sending next is dropped and its entry deleted; the pod sending first keeps the connection (E37)', async () => {
    policy('allow', 'allow'); // standard mode, no policy
    const peerSide = async (id: string) => {
      const o = await w.peerProbe.send({ op: 'tcp_open', id, dst: w.podIp, port: 80 });
      expect(o.ok).toBe(true);
      expect((await w.peerProbe.send({ op: 'tcp_send', id })).ok).toBe(true);
      return o.sport!;
    };
    const sportPeerFirst = await peerSide('t28-peer');
    const sportPodFirst = await peerSide('t28-pod');
    const ct = openPin(`${w.pinRoot}/maps/global_aws_conntrack_map`);
    const entries = (sport: number) =>
      mapKeys(ct, 24)
        .map((k) => decodeCtKey(k, 'ipv4'))
        .filter((k) => k.srcPort === sport && k.destIp === w.podIp).length;
    try {
      expect(entries(sportPeerFirst)).toBe(1);
      // T2 on the pod: an ingress policy with no rule (state POLICIES_APPLIED), conntrack NOT flushed.
      dp.writePolicy(KEY, 'ingress', new Map());
      dp.setState(KEY, 'ingress', 'np', PodState.PoliciesApplied);
      expect(await w.peerProbe.tcp(w.podIp, 80, 1)).toBe(false); // new flows: denied
      // The peer sends next: the state changed, the flow is judged again, dropped, its entry deleted.
      expect((await w.peerProbe.send({ op: 'tcp_send', id: 't28-peer', timeout: 1 })).ok).toBe(false);
      expect(entries(sportPeerFirst)).toBe(0);
      // The pod sends first on the other connection. The peer's ACK still removes the old entry, but the pod's
      // next packet (its retransmission) is judged by its egress state, admitted, and makes an entry in the pod's
      // direction that the peer's packets then match as replies (as upstream; the agent's README).
      expect((await w.podProbe.send({ op: 'tcp_push', sport: sportPodFirst })).ok).toBe(true);
      expect((await w.peerProbe.send({ op: 'tcp_recv', id: 't28-pod' })).ok).toBe(true);
      expect((await w.peerProbe.send({ op: 'tcp_send', id: 't28-pod' })).ok).toBe(true);
      const fromPod = mapKeys(ct, 24)
        .map((k) => decodeCtKey(k, 'ipv4'))
        .filter((k) => k.srcIp === w.podIp && k.destPort === sportPodFirst);
      expect(fromPod.length).toBe(1);
      expect(entries(sportPodFirst)).toBe(0);
    } finally {
      closeFd(ct);
      await w.peerProbe.send({ op: 'tcp_close', id: 't28-peer' });
      await w.peerProbe.send({ op: 'tcp_close', id: 't28-pod' });
    }
  });

  it('T29: an ingress policy applied while the pod has a request in flight: that reply and later requests pass', async () => {
    policy('allow', 'allow'); // standard mode, no policy
    expect((await w.podProbe.send({ op: 'tcp_open', id: 't29', dst: w.peerIp, port: 80 })).ok).toBe(true);
    try {
      // {pod=a, ingress from pod=test-app}: the peer is not test-app (an unrelated /32 is), egress untouched.
      dp.writePolicy(KEY, 'ingress', new Map([['10.77.9.9/32', [any]]]));
      dp.setState(KEY, 'ingress', 'np', PodState.PoliciesApplied);
      expect(await w.peerProbe.tcp(w.podIp, 80, 1)).toBe(false); // the policy is in force
      expect((await w.podProbe.send({ op: 'tcp_send', id: 't29' })).ok).toBe(true); // in flight: its reply passes
      expect(await w.podProbe.tcp(w.peerIp, 80)).toBe(true); // a later request: replies through conntrack
    } finally {
      await w.podProbe.send({ op: 'tcp_close', id: 't29' });
    }
  });

  it('an ICMP request is judged, never taken for the reply of a ping the other way', async () => {
    policy(new Map([['10.77.2.0/24', [tcp(80)]]]), 'allow');
    expect(await ping(w.pod, w.peerIp)).toBe(true); // egress open; the echo reply passes as a reply
    expect(await ping(w.peer, w.podIp)).toBe(false); // the peer's echo request meets the ingress policy
    policy(new Map([['10.77.2.0/24', [any]]]), 'allow');
    expect(await ping(w.peer, w.podIp)).toBe(true);
  });

  it('readPolicy returns what the kernel holds; writes are diffs (updates first, then deletes)', () => {
    const a = new Map([
      ['10.77.2.0/24', [tcp(80)]],
      ['10.0.0.0/8', [any]],
    ]);
    dp.writePolicy(KEY, 'egress', a);
    expect(dp.readPolicy(KEY, 'egress')).toEqual(a);
    const b = new Map([
      ['10.0.0.0/8', [tcp(1, 1024), udp(53)]],
      ['192.168.0.0/16', [deny]],
    ]);
    dp.writePolicy(KEY, 'egress', b);
    expect(dp.readPolicy(KEY, 'egress')).toEqual(b);
  });

  it('refuses bad input before writing anything', () => {
    const before = dp.readPolicy(KEY, 'egress');
    const bad = new Map([
      ['10.1.0.0/16', [tcp(80)]],
      ['10.77.2.1/24', [tcp(80)]], // host bits set
    ]);
    expect(() => dp.writePolicy(KEY, 'egress', bad)).toThrow(/not canonical/);
    const tooMany = new Map([['10.2.0.0/16', Array.from({ length: 25 }, (_, i) => tcp(i + 1))]]);
    expect(() => dp.writePolicy(KEY, 'egress', tooMany)).toThrow(/at most 24/);
    expect(() => dp.writePolicy(KEY, 'egress', new Map([['fd00::/8', [any]]]))).toThrow(/family/);
    expect(dp.readPolicy(KEY, 'egress')).toEqual(before);
  });

  it('conntrack GC: keeps entries of flows the kernel tracks, deletes stale ones after snapshot + sweep', async () => {
    policy('allow', 'allow');
    // The node's netfilter conntrack starts tracking once a rule needs it.
    w.ip(w.node, ['link', 'show']); // the netns exists
    execFileSync('ip', [
      'netns',
      'exec',
      w.node,
      'iptables',
      '-A',
      'FORWARD',
      '-m',
      'conntrack',
      '--ctstate',
      'NEW,ESTABLISHED',
      '-j',
      'ACCEPT',
    ]);
    expect((await w.podProbe.send({ op: 'tcp_open', id: 'gc1', dst: w.peerIp, port: 80 })).ok).toBe(true);
    const ct = openPin(`${w.pinRoot}/maps/global_aws_conntrack_map`);
    try {
      const stale = encodeCtKey(
        {
          srcIp: w.podIp,
          srcPort: 4242,
          destIp: '10.77.2.9',
          destPort: 80,
          protocol: 6,
          ownerIp: w.podIp,
          ifindex: 7,
        },
        'ipv4',
      );
      const v = Buffer.alloc(16);
      v.writeBigUInt64LE(2n, 0);
      v.writeBigUInt64LE(1n, 8); // seen long ago
      expect(mapUpdate(ct, stale, v)).toBe(0);
      const live = () =>
        mapKeys(ct, 24)
          .map((k) => decodeCtKey(k, 'ipv4'))
          .filter((k) => k.destIp === w.peerIp && k.destPort === 80);
      const liveBefore = live().length;
      expect(liveBefore).toBeGreaterThan(0);
      expect(dp.conntrackGcTick()).toBe(0); // snapshot
      expect(dp.conntrackGcTick()).toBeGreaterThanOrEqual(1); // sweep
      expect(mapLookup(ct, stale, 16)).toBeUndefined();
      expect(live().length).toBe(liveBefore); // the open connection is in the kernel table: kept
      expect((await w.podProbe.send({ op: 'tcp_send', id: 'gc1' })).ok).toBe(true);
    } finally {
      closeFd(ct);
      await w.podProbe.send({ op: 'tcp_close', id: 'gc1' });
    }
  });

  it('listKeys reports the pinned key and where it is attached', () => {
    const keys = dp.listKeys();
    const k = keys.find((x) => x.key === KEY)!;
    expect(k.attached).toEqual([
      expect.objectContaining({
        ifname: w.veth,
        ingressProgId: expect.any(Number),
        egressProgId: expect.any(Number),
      }),
    ]);
    expect(k.attached[0]!.ingressProgId).toBeGreaterThan(0);
  });
});

async function ping(netns: string, dst: string): Promise<boolean> {
  try {
    await promisify(execFile)('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W2', dst]);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
