// `npm run demo -- --network-policy`: the Stars demo of network policy on the simulated cluster. Each node runs
// aws-node and its aws-network-policy-agent (eBPF on the pods' host veths, its own bpffs and socket); the cluster
// runs the network-policy-controller. Per step: the NetworkPolicy objects are written to the Kubernetes stand-in,
// then every pair of pods is probed (TCP connects between pod namespaces) until each node enforces the step; it
// prints the time from the API write to enforcement on each node, and the who-reaches-whom matrix.
import { realisticTiming } from '../sim/index.js';
import { type Cluster, startCluster } from '../scenarios/cluster.js';
import { formatMatrix } from '../scenarios/netpol-kit.js';
import {
  NAMES,
  OTHER_KEY,
  STARS_PODS,
  STARS_STEPS,
  type StarsDeployment,
  deployStars,
  runStarsStep,
} from '../scenarios/stars.js';

export async function networkPolicyDemo(o: { type: string; nodeCount: number }): Promise<number> {
  const t0 = Date.now();
  let c: Cluster | undefined;
  let stars: StarsDeployment | undefined;
  let failures = 0;
  console.log(
    `vpc-cni-ts network policy demo: ${o.nodeCount} simulated ${o.type} nodes, standard mode (NETWORK_POLICY_ENFORCING_MODE)\n` +
      '  per node: aws-node (init, entrypoint, ipamd) + aws-network-policy-agent (eBPF on each pod veth, private bpffs,\n' +
      '  its own npa socket named in the conflist); one network-policy-controller (NetworkPolicy -> PolicyEndpoint)',
  );
  try {
    const names = Array.from({ length: o.nodeCount }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
    c = await startCluster({
      nodes: names.map((name) => ({ name, type: o.type })),
      networkPolicy: 'standard',
      world: { faults: realisticTiming() },
    });
    console.log(`  cluster ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    stars = await deployStars(c);
    console.log("\nStars pods (created through each node's containerd and aws-cni):");
    for (const p of STARS_PODS) {
      const pod = stars.pods.get(p.name)!;
      const node = c.nodes[p.node % c.nodes.length]!.name;
      console.log(
        `  ${p.name.padEnd(9)} ${`${p.namespace}`.padEnd(14)} role=${p.role.padEnd(14)} ${pod.ip.padEnd(12)} ${node}  TCP ${p.port}`,
      );
    }
    console.log(
      `  matrix: row reaches column on the column's port (✓ reached, · blocked); ${OTHER_KEY} = a port no rule allows`,
    );
    let previous: Record<string, boolean> | undefined;
    for (const [i, step] of STARS_STEPS.entries()) {
      const { want, conv, got } = await runStarsStep(c, stars, step);
      const times = c.nodes.map((n) => {
        const into = stars!.pairs.filter((p) => p.node === n.name);
        const changed = !previous || into.some((p) => previous![p.key] !== want[p.key]);
        const ms = conv.perNode[n.name];
        return `${n.name} ${!changed ? 'unchanged' : ms === undefined || !Number.isFinite(ms) ? 'NOT enforced' : `${Math.round(ms)} ms`}`;
      });
      const ok = conv.converged && Object.keys(want).every((k) => got[k] === want[k]);
      if (!ok) failures++;
      console.log(`\nstep ${i + 1}: ${step.title}${ok ? '' : '  FAIL: not the expected matrix'}`);
      console.log(
        step.create.length === 0 && !step.deleteAll
          ? '  no API write (the baseline: pods reach each other)'
          : `  API write -> enforced: ${times.join(', ')}`,
      );
      if (!conv.converged) console.log(`  pairs that did not settle: ${conv.pending.join(', ')}`);
      console.log(
        formatMatrix(NAMES, got)
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n'),
      );
      previous = want;
    }
    console.log(
      '\n  times: the first probe after which every pair into the node answered as the step says (probe timeout 200 ms:\n' +
        '  a change that opens a path is seen up to ~200 ms late; one that closes it within a few ms)',
    );
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
    failures++;
  } finally {
    stars?.processes.close();
    await c?.stop();
  }
  console.log(
    `\n${failures === 0 ? 'OK' : `FAILED (${failures} problems)`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return failures === 0 ? 0 : 1;
}
