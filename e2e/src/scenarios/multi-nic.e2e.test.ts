// ENABLE_MULTI_NIC through containerd on a four-card instance type (p4d.24xlarge: 4 network cards × 15 ENIs), launched
// with an EFA-only device on card 3 (as for an EFA workload): ipamd attaches an ENI on cards 1 and 2 (their links
// appear in the node as c1eth0, c2eth0) and leaves card 3 alone (no ENI created there; /v1/network-cards says why);
// an ordinary pod stays on card 0; a pod annotated k8s.amazonaws.com/nicConfig: multi-nic-attachment gets eth0 +
// mNicIf1 + mNicIf2 (none for card 3) with one address per managed card and host rules into each card's table (254,
// 10100, 10200); kill -9 of ipamd keeps every card's allocations, also when card 1's checkpoint is then found corrupt
// (rebuilt from the pod's host route); DEL releases every address and leaves no rule.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { durableAddresses } from '@vpc-cni/ipamd/persistence';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod, deletePod } from '../demo/cri-pods.js';
import { type ScenarioNode, canRun, multiNicPod, startScenarioNode } from './kit.js';

const TYPE = 'p4d.24xlarge';
let n: ScenarioNode | undefined;

beforeAll(async () => {
  if (!canRun) return;
  n = await startScenarioNode({
    type: TYPE,
    awsNode: false,
    interfaces: [{ networkCardIndex: 3, deviceIndex: 0, interfaceType: 'efa-only' }],
    env: {
      ENABLE_MULTI_NIC: 'true',
      WARM_IP_TARGET: '2',
      DISABLE_LEAKED_ENI_CLEANUP: 'true',
      DISABLE_INTROSPECTION: 'false',
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:61679',
    },
  });
}, 180_000);
afterAll(async () => {
  await n?.stop();
});

const cardPath = (card: number) => n!.node.checkpoint.replace(/\.json$/, `-nic-${card}.json`);
const card1Path = () => cardPath(1);
const onCard = (card: number) =>
  n!.sim.world.enisOf(n!.instance.instance.id).filter((e) => e.attachment!.networkCardIndex === card);
/** ipamd's introspection inside the node netns. */
const introspect = (path: string): unknown =>
  JSON.parse(
    execFileSync('ip', ['netns', 'exec', n!.nodeNs, 'curl', '-sf', `http://127.0.0.1:61679${path}`], {
      encoding: 'utf8',
    }),
  );
// as ipamd's start reads it: the file with its journal replayed
const addrsIn = durableAddresses;
const inNode = (...args: string[]) => execFileSync('ip', ['-n', n!.nodeNs, ...args], { encoding: 'utf8' });
describe.skipIf(!canRun)(`multi-NIC pods through containerd (${TYPE}, ENABLE_MULTI_NIC=true)`, () => {
  it('cards 1 and 2 get their own ENI, hot-plugged into the node with tables 10100 and 10200; card 3, holding only an EFA-only device, is left alone and says why', () => {
    for (const card of [1, 2]) {
      const enis = onCard(card);
      expect(enis).toHaveLength(1);
      expect(enis[0]!.attachment!.deviceIndex).toBe(0);
      expect(inNode('-j', 'link', 'show', `c${card}eth0`)).toContain(enis[0]!.mac);
      expect(inNode('route', 'show', 'table', String(10000 + 100 * card))).toMatch(
        new RegExp(`default via \\S+ dev c${card}eth0`),
      );
      expect(inNode('rule')).toMatch(
        new RegExp(`from ${enis[0]!.primaryIp.replace(/\./g, '\\.')} lookup ${10000 + 100 * card}`),
      );
    }
    // card 3: only the EFA-only device from the launch, no ENI from ipamd, no link or table in the node
    const efa = onCard(3);
    expect(efa.map((e) => e.interfaceType)).toEqual(['efa-only']);
    expect(inNode('-o', 'link', 'show')).not.toMatch(/c3eth/);
    expect(inNode('route', 'show', 'table', 'all')).not.toMatch(/table 103\d\d/);
    const cards = introspect('/v1/network-cards') as {
      NetworkCard: number;
      Managed: boolean;
      Reason: string;
    }[];
    expect(cards.map((c) => [c.NetworkCard, c.Managed])).toEqual([
      [0, true],
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(cards[3]!.Reason).toBe(
      `it holds the EFA-only interface ${efa[0]!.id} and no managed ENA interface`,
    );
  });

  it('ordinary pod on card 0; multi-NIC pod: eth0 + mNicIf1 + mNicIf2, one address per managed card, none for card 3; kill -9 keeps every card; DEL releases all', async () => {
    const w = n!.sim.world;
    const primary = () => w.eni(n!.instance.instance.primaryEniId);
    const card1Eni = () => onCard(1)[0]!;
    const card2Eni = () => onCard(2)[0]!;

    const plain = await createPod(n!.cri, 'plain', 1);
    expect(primary().secondaryIps).toContain(plain.ip);
    expect(await addrsIn(card1Path())).toEqual([]);

    const m = await multiNicPod(n!.cri, 'multi');
    expect(Object.keys(m.addrs).sort()).toEqual(['eth0', 'mNicIf1', 'mNicIf2']);
    const [a0] = m.addrs['eth0']!;
    const [a1] = m.addrs['mNicIf1']!;
    const [a2] = m.addrs['mNicIf2']!;
    expect(primary().secondaryIps).toContain(a0);
    expect(card1Eni().secondaryIps).toContain(a1);
    expect(card2Eni().secondaryIps).toContain(a2);
    expect(await addrsIn(n!.node.checkpoint)).toEqual(expect.arrayContaining([plain.ip, a0]));
    expect(await addrsIn(card1Path())).toEqual([a1]);
    expect(await addrsIn(cardPath(2))).toEqual([a2]);
    // host rules: each card's address is routed through its card's table
    const rules = inNode('rule');
    expect(rules).toMatch(new RegExp(`from ${a1!.replace(/\./g, '\\.')} lookup 10100`));
    expect(rules).toMatch(new RegExp(`from ${a2!.replace(/\./g, '\\.')} lookup 10200`));
    // still no ENI on card 3
    expect(onCard(3).map((e) => e.interfaceType)).toEqual(['efa-only']);

    // kill -9 of ipamd, restart: every card's allocations are still there
    await n!.node.agent!.kill();
    await n!.node.startAgent();
    expect(await addrsIn(n!.node.checkpoint)).toEqual(expect.arrayContaining([plain.ip, a0]));
    expect(await addrsIn(card1Path())).toEqual([a1]);
    expect(await addrsIn(cardPath(2))).toEqual([a2]);

    // card 1's checkpoint corrupt at the next crash: rebuilt from the pod's mNicIf1 host route, under the pod's
    // own key (the DEL below releases it)
    await n!.node.agent!.kill();
    writeFileSync(card1Path(), '{"version": 1, "allocations": [tru');
    await n!.node.startAgent();
    expect(await addrsIn(card1Path())).toEqual([a1]);

    await deletePod(n!.cri, m);
    expect(await addrsIn(card1Path())).toEqual([]);
    expect(await addrsIn(cardPath(2))).toEqual([]);
    expect(await addrsIn(n!.node.checkpoint)).toEqual([plain.ip]);
    const after = inNode('rule');
    for (const a of [a0, a1, a2]) expect(after).not.toContain(`from ${a} `);
    await deletePod(n!.cri, plain);
    expect(await addrsIn(n!.node.checkpoint)).toEqual([]);
  });
});
