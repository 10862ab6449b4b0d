// Bad input (issue 9): a broken conflist (vethPrefix longer than 4 characters) makes every RunPodSandbox fail with
// the plugin's CNI error, surfaced by containerd, while the node is unaffected: no link, route or rule appears,
// ipamd hands out nothing and keeps serving.
import { readDurableAllocations } from '@vpc-cni/ipamd/persistence';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { type CriClient, type PrivateContainerd, mountsUnder } from '../cri/index.js';
import { createPod, startRuntime } from '../demo/cri-pods.js';
import { SimNode, linkHotplug } from '../node/index.js';
import { Sim } from '../sim/index.js';
import { SG_1, SUBNET_A, smallWorld } from '../sim/testkit.js';
import { addOwnedNetns } from '../harness/owner.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const AGENT = join(ROOT, 'dist/bin/aws-k8s-agent');
const AWS_CNI = join(ROOT, 'dist/bin/aws-cni');
const ready = existsSync(AGENT) && existsSync(AWS_CNI) && existsSync('/usr/bin/containerd');
const tag = randomBytes(3).toString('hex');
const NODE_NS = `vct-bad-${tag}`;
const PARK_NS = `vct-badp-${tag}`;
const state = () =>
  ['link', 'route show table all', 'rule'].map((a) =>
    execFileSync('ip', ['-n', NODE_NS, ...a.split(' ')], { encoding: 'utf8' }),
  );

describe.skipIf(!ready)('a broken conflist', () => {
  let sim: Sim;
  let node: SimNode;
  let containerd: PrivateContainerd | undefined;
  let cri: CriClient;

  beforeAll(async () => {
    for (const ns of [NODE_NS, PARK_NS]) addOwnedNetns(ns);
    sim = await Sim.start(smallWorld());
    linkHotplug(sim, () => undefined, NODE_NS, PARK_NS);
    const n = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    node = new SimNode({ sim, node: n, netns: NODE_NS, agentBinary: AGENT });
    await node.startAgent();
    const rt = await startRuntime({
      nodeNs: NODE_NS,
      workDir: node.dir,
      awsCni: AWS_CNI,
      ipamdSocket: node.socket,
      cacheDir: join(ROOT, 'dist/cache'),
      pluginOverrides: { vethPrefix: 'toolong' },
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

  it('fails the sandbox with the CNI error and leaves the node as it was', async () => {
    const before = state();
    await expect(createPod(cri, 'bad-1', 1)).rejects.toThrow(/VethPrefix can be at most 4 characters long/);
    await expect(createPod(cri, 'bad-2', 2)).rejects.toThrow(/VethPrefix can be at most 4 characters long/);
    expect(state()).toEqual(before);
    expect(readDurableAllocations(node.checkpoint)).toEqual([]);
    // ipamd is unaffected and still serves a well-formed request.
    const client = new RpcClient({ endpoint: `unix://${node.socket}`, deadlineMs: 10_000 });
    try {
      const r = await client.call(CNIBackend.AddNetwork, {
        ContainerID: 'probe',
        IfName: 'eth0',
        NetworkName: 'aws-cni',
        K8S_POD_NAME: 'probe',
        K8S_POD_NAMESPACE: 'default',
        K8S_POD_INFRA_CONTAINER_ID: 'probe',
        Netns: '',
        ClientVersion: '',
        RequiresMultiNICAttachment: false,
      });
      expect(r.Success).toBe(true);
    } finally {
      client.close();
    }
    // containerd 1.6 keeps the netns of a sandbox whose ADD failed (mounted under its state directory); stopping
    // our containerd removes them.
    const dir = containerd!.dir;
    expect(mountsUnder(dir).filter((m) => /\/netns\/cni-[^/]+$/.test(m))).toHaveLength(2);
    await containerd?.stop();
    expect(mountsUnder(dir)).toEqual([]);
  });
});
