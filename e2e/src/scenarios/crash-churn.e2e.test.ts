// Crash under churn (issue 9): containerd creates and deletes 100 pods through the real aws-cni while the real
// ipamd (EC2 mode against the simulator, in a node netns) is killed with SIGKILL mid-way and restarted. Afterwards:
// no address is held twice, every pod still running has its address in ipamd's checkpoint, and no ENI leaked.
import { readDurableAllocations } from '@vpc-cni/ipamd/persistence';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CriClient, PrivateContainerd } from '../cri/index.js';
import { type CriPod, createPod, deletePod, startRuntime } from '../demo/cri-pods.js';
import { SimNode, linkHotplug } from '../node/index.js';
import { Sim } from '../sim/index.js';
import { SG_1, SUBNET_A, smallWorld } from '../sim/testkit.js';
import { addOwnedNetns } from '../harness/owner.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const AGENT = join(ROOT, 'dist/bin/aws-k8s-agent');
const AWS_CNI = join(ROOT, 'dist/bin/aws-cni');
const ready = existsSync(AGENT) && existsSync(AWS_CNI) && existsSync('/usr/bin/containerd');
const tag = randomBytes(3).toString('hex');
const NODE_NS = `vct-churn-${tag}`;
const PARK_NS = `vct-churnp-${tag}`;

describe.skipIf(!ready)('kill -9 ipamd during a containerd churn of 100 pods', () => {
  let sim: Sim;
  let node: SimNode;
  let containerd: PrivateContainerd | undefined;
  let cri: CriClient;

  beforeAll(async () => {
    for (const ns of [NODE_NS, PARK_NS]) addOwnedNetns(ns);
    sim = await Sim.start({ ...smallWorld(), faults: { attachDelayMs: 200 } });
    linkHotplug(sim, () => undefined, NODE_NS, PARK_NS);
    const n = await sim.launch({ type: 'm5.xlarge', subnetId: SUBNET_A, groups: [SG_1] });
    node = new SimNode({ sim, node: n, netns: NODE_NS, agentBinary: AGENT });
    await node.startAgent();
    execFileSync('ip', ['netns', 'exec', NODE_NS, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    const rt = await startRuntime({
      nodeNs: NODE_NS,
      workDir: node.dir,
      awsCni: AWS_CNI,
      ipamdSocket: node.socket,
      cacheDir: join(ROOT, 'dist/cache'),
    });
    containerd = rt.containerd;
    cri = rt.cri;
  }, 120_000);
  afterAll(async () => {
    await containerd?.stop();
    await node?.stop();
    await sim?.stop();
    for (const ns of [NODE_NS, PARK_NS]) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  it('keeps every running pod address, hands none out twice, leaks no ENI', async () => {
    const alive: CriPod[] = [];
    const toDelete: CriPod[] = [];
    let started = 0;
    let failedAdds = 0;
    let crashed = false;
    const worker = async () => {
      for (;;) {
        const i = started++;
        if (i >= 100) return;
        if (i === 35 && !crashed) {
          crashed = true;
          // The crash: no flush, no goodbye. Restarted at once, as kubelet restarts aws-node.
          await node.agent!.kill();
          void node.startAgent();
        }
        try {
          const pod = await createPod(cri, `churn-${i}`, i);
          (i % 4 === 0 ? alive : toDelete).push(pod);
        } catch {
          failedAdds++; // ipamd was down: containerd got a CNI error and tore the sandbox down
        }
        const victim = toDelete.shift();
        if (victim) await deletePod(cri, victim).catch(() => toDelete.push(victim)); // retried later, as kubelet does
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    expect(crashed).toBe(true);
    // Let the restarted ipamd finish starting, then finish the pending deletes.
    for (let i = 0; i < 200 && !existsSync(node.socket); i++) await new Promise((r) => setTimeout(r, 50));
    for (let round = 0; round < 5 && toDelete.length; round++)
      for (const p of toDelete.splice(0)) await deletePod(cri, p).catch(() => toDelete.push(p));
    expect(toDelete).toEqual([]);

    // as ipamd's start reads it: the checkpoint file with its journal replayed
    const held = readDurableAllocations(node.checkpoint);
    const addrs = held.map((a) => a.address);
    expect(new Set(addrs).size).toBe(addrs.length); // no address twice
    const byContainer = new Map(held.map((a) => [a.containerID, a.address]));
    expect(alive.length).toBeGreaterThan(15);
    for (const p of alive) expect(byContainer.get(p.id)).toBe(p.ip); // every running pod keeps its address
    // Deleted pods gave their addresses back: only the running pods hold any.
    expect(held.length).toBe(alive.length);
    // No ENI leaked: every ENI the node's ipamd created is attached to the instance.
    const ours = [...sim.world.enis.values()].filter((e) => e.description === `aws-K8S-${node.instanceId}`);
    expect(ours.every((e) => e.attachment?.instanceId === node.instanceId)).toBe(true);
    console.log(
      `churn: ${alive.length} pods alive, ${failedAdds} ADDs failed while ipamd was down, ${ours.length} ENIs created`,
    );
    for (const p of alive.splice(0)) await deletePod(cri, p);
  }, 300_000);
});
