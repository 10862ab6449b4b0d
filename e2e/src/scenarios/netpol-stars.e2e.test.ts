// Network policy through containerd on two simulated nodes (issues 16, 17): the Stars demo. Each node runs
// aws-node and its aws-network-policy-agent (private bpffs, own npa socket); the cluster runs the
// network-policy-controller; pods are made by each node's containerd calling the real aws-cni, which asks the node's
// agent to enforce. NetworkPolicy objects are written to the Kubernetes stand-in, the controller turns them into
// PolicyEndpoints, the agents program the eBPF datapath. After each step the full matrix of TCP connects between
// the pods' namespaces must be what the policies say.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from './cluster.js';
import { canRun } from './kit.js';
import type { Matrix } from './netpol-kit.js';
import { STARS_PODS, STARS_STEPS, type StarsDeployment, deployStars, runStarsStep } from './stars.js';

let cluster: Cluster | undefined;
let stars: StarsDeployment | undefined;
afterEach(async () => {
  stars?.processes.close();
  stars = undefined;
  await cluster?.stop();
  cluster = undefined;
});

describe.skipIf(!canRun)('network policy on two nodes through containerd (Stars)', () => {
  it('every step of the Stars demo gives exactly its who-reaches-whom matrix', async () => {
    const c = (cluster = await startCluster({
      nodes: [
        { name: 'np-a', type: 'm5.large' },
        { name: 'np-b', type: 'm5.large' },
      ],
      networkPolicy: 'standard',
    }));
    // The plugin on each node dials that node's agent (conflist npaEndpoint), and the agents hold their own pins.
    for (const n of c.nodes) {
      expect(n.node.policyAgent?.socket).toBe(`${n.node.dir}/npa.sock`);
      expect(n.node.policyAgent?.bpffs.startsWith(n.node.dir)).toBe(true);
    }
    const s = (stars = await deployStars(c));
    expect(new Set([...s.pods.values()].map((p) => p.ip)).size).toBe(4);
    const seen: { title: string; matrix: Matrix }[] = [];
    for (const step of STARS_STEPS) {
      const { want, conv, got } = await runStarsStep(c, s, step);
      if (!conv.converged) {
        const pes = c.kube.api.store.list('networking.k8s.aws/policyendpoints', undefined);
        console.error(step.title, conv.pending, JSON.stringify(pes.map((o) => [o.metadata.name, o['spec']])));
      }
      expect(conv.pending, `step "${step.title}": pairs that did not settle`).toEqual([]);
      // Then the whole matrix once more, with a patient timeout: it is exactly the step's.
      seen.push({ title: step.title, matrix: got });
      expect(got, step.title).toEqual(want);
    }
    // Each node's agent holds the programs of its own pods only, pinned under its own bpffs.
    for (const [i, n] of c.nodes.entries()) {
      const pins = readdirSync(join(n.node.policyAgent!.bpffs, 'globals/aws/programs')).sort();
      const mine = STARS_PODS.filter((p) => p.node === i).map((p) => `${p.name}@${p.namespace}`);
      expect(pins).toEqual(mine.flatMap((k) => [`${k}_handle_egress`, `${k}_handle_ingress`]).sort());
    }
    expect(seen.map((x) => Object.values(x.matrix).filter(Boolean).length)).toEqual([13, 3, 6, 7, 8, 13]);
  }, 240_000);
});
