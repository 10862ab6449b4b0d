// ENABLE_MULTI_NIC through containerd on a two-card instance type (hpc7a.12xlarge: 2 network cards × 2 ENIs):
// ipamd attaches an ENI on card 1 (its link appears in the node as c1eth0); an ordinary pod stays on card 0; a pod
// annotated k8s.amazonaws.com/nicConfig: multi-nic-attachment gets eth0 + mNicIf1 with one address per card and
// host rules into each card's table (254, 10100); kill -9 of ipamd keeps both cards' allocations, also when card 1's
// checkpoint is then found corrupt (rebuilt from the pod's host route); DEL releases every address and leaves no
// rule.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { durableAddresses } from '@vpc-cni/ipamd/persistence';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CriPod, createPod, deletePod } from '../demo/cri-pods.js';
import { type ScenarioNode, canRun, startScenarioNode } from './kit.js';

const TYPE = 'hpc7a.12xlarge';
let n: ScenarioNode | undefined;

beforeAll(async () => {
  if (!canRun) return;
  n = await startScenarioNode({
    type: TYPE,
    awsNode: false,
    env: { ENABLE_MULTI_NIC: 'true', WARM_IP_TARGET: '2', DISABLE_LEAKED_ENI_CLEANUP: 'true' },
  });
}, 180_000);
afterAll(async () => {
  await n?.stop();
});

const card1Path = () => n!.node.checkpoint.replace(/\.json$/, '-nic-1.json');
// as ipamd's start reads it: the file with its journal replayed
const addrsIn = durableAddresses;
const inNode = (...args: string[]) => execFileSync('ip', ['-n', n!.nodeNs, ...args], { encoding: 'utf8' });
const podAddrs = (pid: number): Record<string, string[]> => {
  const j = JSON.parse(
    execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-j', '-4', 'addr'], { encoding: 'utf8' }),
  ) as { ifname: string; addr_info: { local: string }[] }[];
  return Object.fromEntries(
    j.filter((l) => l.ifname !== 'lo').map((l) => [l.ifname, l.addr_info.map((a) => a.local)]),
  );
};

async function multiNicPod(name: string, i: number): Promise<CriPod & { addrs: Record<string, string[]> }> {
  const id = await n!.cri.runPodSandbox({
    name,
    namespace: 'default',
    uid: `uid-mnic-${i}-${process.pid}`,
    annotations: { 'k8s.amazonaws.com/nicConfig': 'multi-nic-attachment' },
  });
  const s = await n!.cri.status(id);
  return {
    name,
    namespace: 'default',
    id,
    ip: s.ip,
    pid: s.pid,
    hostVeth: '',
    ms: 0,
    addrs: podAddrs(s.pid),
  };
}

describe.skipIf(!canRun)(`multi-NIC pods through containerd (${TYPE}, ENABLE_MULTI_NIC=true)`, () => {
  it('card 1 gets its own ENI, hot-plugged into the node and set up with table 10100', () => {
    const w = n!.sim.world;
    const card1 = w.enisOf(n!.instance.instance.id).filter((e) => e.attachment!.networkCardIndex === 1);
    expect(card1).toHaveLength(1);
    expect(card1[0]!.attachment!.deviceIndex).toBe(0);
    expect(inNode('-j', 'link', 'show', 'c1eth0')).toContain(card1[0]!.mac);
    expect(inNode('route', 'show', 'table', '10100')).toMatch(/default via \S+ dev c1eth0/);
    expect(inNode('rule')).toMatch(
      new RegExp(`from ${card1[0]!.primaryIp.replace(/\./g, '\\.')} lookup 10100`),
    );
  });

  it('ordinary pod on card 0; multi-NIC pod: eth0 + mNicIf1, one address per card; kill -9 keeps both; DEL releases all', async () => {
    const w = n!.sim.world;
    const primary = () => w.eni(n!.instance.instance.primaryEniId);
    const card1Eni = () =>
      w.enisOf(n!.instance.instance.id).find((e) => e.attachment!.networkCardIndex === 1)!;

    const plain = await createPod(n!.cri, 'plain', 1);
    expect(primary().secondaryIps).toContain(plain.ip);
    expect(await addrsIn(card1Path())).toEqual([]);

    const m = await multiNicPod('multi', 2);
    expect(Object.keys(m.addrs).sort()).toEqual(['eth0', 'mNicIf1']);
    const [a0] = m.addrs['eth0']!;
    const [a1] = m.addrs['mNicIf1']!;
    expect(primary().secondaryIps).toContain(a0);
    expect(card1Eni().secondaryIps).toContain(a1);
    expect(await addrsIn(n!.node.checkpoint)).toEqual(expect.arrayContaining([plain.ip, a0]));
    expect(await addrsIn(card1Path())).toEqual([a1]);
    // host rules: the card-1 address is routed through card 1's table
    const rules = inNode('rule');
    expect(rules).toMatch(new RegExp(`from ${a1!.replace(/\./g, '\\.')} lookup 10100`));

    // kill -9 of ipamd, restart: both cards' allocations are still there
    await n!.node.agent!.kill();
    await n!.node.startAgent();
    expect(await addrsIn(n!.node.checkpoint)).toEqual(expect.arrayContaining([plain.ip, a0]));
    expect(await addrsIn(card1Path())).toEqual([a1]);

    // card 1's checkpoint corrupt at the next crash: rebuilt from the pod's mNicIf1 host route, under the pod's
    // own key (the DEL below releases it)
    await n!.node.agent!.kill();
    writeFileSync(card1Path(), '{"version": 1, "allocations": [tru');
    await n!.node.startAgent();
    expect(await addrsIn(card1Path())).toEqual([a1]);

    await deletePod(n!.cri, m);
    expect(await addrsIn(card1Path())).toEqual([]);
    expect(await addrsIn(n!.node.checkpoint)).toEqual([plain.ip]);
    const after = inNode('rule');
    expect(after).not.toContain(`from ${a1} `);
    expect(after).not.toContain(`from ${a0} `);
    await deletePod(n!.cri, plain);
    expect(await addrsIn(n!.node.checkpoint)).toEqual([]);
  });
});
