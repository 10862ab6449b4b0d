// `npm run demo`: simulated EKS nodes on one VPC fabric. The EC2 + IMDS simulator launches the instances; their
// ENIs appear as links in each node's network namespace when attached; each node boots as aws-node does (init,
// entrypoint, the real ipamd in EC2 mode); a private containerd per node creates pods over CRI as kubelet does and
// calls the real aws-cni. Prints pods, ENIs with used/free addresses, pod-to-pod (across nodes) and pod-to-outside
// (SNAT) connectivity, the EC2 calls made, timings, and checks a clean teardown. Exits non-zero if anything failed.
// `--network-policy`: the Stars demo of network policy instead (netpol-demo.ts).
import { existsSync, statSync } from 'node:fs';
import { instanceLimits, maxPods } from '@vpc-cni/shared/limits';
import { realisticTiming } from '../sim/index.js';
import { AGENT, AWS_CNI } from '../scenarios/kit.js';
import { IMAGE_ARCHIVE } from '../node/image-pod.js';
import { networkPolicyDemo } from './netpol-demo.js';
import { type Cluster, removePod, runPod, startCluster } from '../scenarios/cluster.js';
import {
  type PlacedPod,
  printConnectivity,
  printEc2Calls,
  printEnis,
  printPods,
  teardownReport,
} from './report.js';

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : dflt;
}
const has = (name: string) => process.argv.includes(`--${name}`);

async function createPods(c: Cluster, count: number): Promise<PlacedPod[]> {
  const pods: PlacedPod[] = [];
  // Round-robin over the nodes; each node's kubelet starts four sandboxes at a time.
  await Promise.all(
    c.nodes.map(async (n, k) => {
      const mine = Array.from({ length: count }, (_, i) => i).filter((i) => i % c.nodes.length === k);
      for (let j = 0; j < mine.length; j += 4)
        pods.push(
          ...(await Promise.all(
            mine.slice(j, j + 4).map(async (i) => ({ ...(await runPod(c, n, `web-${i}`, i)), node: n })),
          )),
        );
    }),
  );
  return pods.sort((x, y) => Number(x.name.slice(4)) - Number(y.name.slice(4)));
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('demo: needs root (it creates network namespaces)');
    return 1;
  }
  if (!existsSync(AWS_CNI) || !existsSync(AGENT)) {
    console.error('demo: dist/bin is missing; run `pnpm build` first');
    return 1;
  }
  const type = flag('instance-type', 'm5.large');
  const podCount = Number(flag('pods', '20'));
  const nodeCount = Number(flag('nodes', '2'));
  const pd = has('prefix-delegation');
  const custom = has('custom-networking');
  const fromImage = has('from-image');
  if (fromImage && !existsSync(IMAGE_ARCHIVE)) {
    console.error(`demo: --from-image needs ${IMAGE_ARCHIVE}; run \`pnpm image\` first`);
    return 1;
  }
  const limits = instanceLimits(type);
  if (!limits || !Number.isInteger(podCount) || podCount < 1 || ![1, 2, 3].includes(nodeCount)) {
    console.error(`demo: unknown instance type ${type}, or bad --pods (at least 1) or --nodes (1 to 3)`);
    return 1;
  }
  if (has('network-policy')) {
    if (fromImage || pd || custom) {
      console.error(
        'demo: --network-policy runs on its own (not with --from-image, --prefix-delegation, --custom-networking)',
      );
      return 1;
    }
    return networkPolicyDemo({ type, nodeCount });
  }
  // A type with several network cards: every card is managed (ENABLE_MULTI_NIC), so the ENIs listed per node
  // include the other cards' (--single-card keeps card 0 only).
  const multiNic = limits ? limits.networkCards.length > 1 && !has('single-card') : false;
  const env: Record<string, string> = {
    ...(multiNic ? { ENABLE_MULTI_NIC: 'true' } : {}),
    ...(pd ? { ENABLE_PREFIX_DELEGATION: 'true' } : {}),
    ...(custom ? { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' } : {}),
    ...(has('warm-eni-target') ? { WARM_ENI_TARGET: flag('warm-eni-target', '1') } : {}),
    ...(has('warm-ip-target') ? { WARM_IP_TARGET: flag('warm-ip-target', '0') } : {}),
    ...(has('minimum-ip-target') ? { MINIMUM_IP_TARGET: flag('minimum-ip-target', '0') } : {}),
    ...(has('warm-prefix-target') ? { WARM_PREFIX_TARGET: flag('warm-prefix-target', '1') } : {}),
  };
  console.log(
    `vpc-cni-ts demo: ${nodeCount} simulated ${type} node${nodeCount > 1 ? 's' : ''} on one VPC${pd ? ', prefix delegation' : ''}${custom ? ', custom networking (one ENIConfig per node in 100.64.0.0/16)' : ''}`,
  );
  console.log(
    `  instance limits: ${limits.enis} ENIs x ${limits.ipv4PerEni} IPv4 -> max pods ${maxPods(type)} ` +
      `(prefix delegation: ${maxPods(type, { prefixDelegation: true })})`,
  );
  if (limits.networkCards.length > 1)
    console.log(
      `  network cards: ${limits.networkCards.map((n) => `card ${n.index} ${n.maxEnis} ENIs`).join(', ')}; ` +
        (multiNic
          ? 'ENABLE_MULTI_NIC=true: every card managed, cards > 0 keep one address warm for multi-NIC pods'
          : '--single-card: card 0 only'),
    );
  console.log(
    `  aws-cni: ${(statSync(AWS_CNI).size / 1048576).toFixed(1)} MiB single executable, called by containerd`,
  );
  console.log(
    (fromImage
      ? "  node boot from the image (--from-image): each node's containerd imports dist/image/vpc-cni-ts.oci.tar and runs\n" +
        "  deploy/aws-k8s-cni.yaml's aws-node pod: init container aws-vpc-cni-init, then the aws-node container (aws-vpc-cni)\n" +
        '  and the aws-network-policy-agent container (on a private bpffs of the node, ready by its /readyz)\n'
      : '  node boot as the aws-node DaemonSet (executables from dist/bin; --from-image runs the built image instead):\n' +
        '  aws-vpc-cni-init, then aws-vpc-cni (starts ipamd, writes 10-aws.conflist)\n') +
      '  ipamd: the real aws-k8s-agent in each node netns, EC2 mode: IMDS at 169.254.169.254, EC2 API from the simulator ' +
      '(realistic latencies: create ~300 ms, attach visible after ~1.5 s); ENIs are real links on a VPC fabric',
  );

  const t0 = Date.now();
  let c: Cluster | undefined;
  const pods: PlacedPod[] = [];
  let failures = 0;
  try {
    const names = Array.from({ length: nodeCount }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
    // Custom networking: each node's pods come from its own ENIConfig subnet in the secondary CIDR.
    const podSubnets = names.map((_, i) => ({
      id: `subnet-0c${String(i).padStart(15, '0')}`,
      cidr: `100.64.${i * 32}.0/19`,
      az: 'us-west-2a',
    }));
    c = await startCluster({
      nodes: names.map((name, i) => ({
        name,
        type,
        ...(custom ? { labels: { 'k8s.amazonaws.com/eniConfig': `pods-${i}` } } : {}),
      })),
      env,
      fromImage,
      ...(custom ? { eniConfigs: podSubnets.map((s, i) => ({ name: `pods-${i}`, subnet: s.id })) } : {}),
      world: {
        vpc: { cidrs: ['10.0.0.0/16', '100.64.0.0/16'] },
        subnets: [
          { id: 'subnet-0aaaaaaaaaaaaaaaa', cidr: '10.0.16.0/20', az: 'us-west-2a' },
          ...(custom ? podSubnets : []),
        ],
        faults: realisticTiming(),
      },
    });
    console.log(
      `  ${c.nodes.map((n) => `${n.name} ${n.instance.instance.id}`).join(', ')} ready ` +
        `(ipamd SERVING, conflist written, containerd up) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const tPods = Date.now();
    pods.push(...(await createPods(c, podCount)));
    const podsS = (Date.now() - tPods) / 1000;

    printPods(c, pods);
    for (const n of c.nodes) printEnis(c, n);
    failures += printConnectivity(pods, c.outsideIp);
    printEc2Calls(c);
    console.log(
      `\n${pods.length} pods ready ${podsS.toFixed(1)} s after the first RunPodSandbox, ` +
        `${((Date.now() - t0) / 1000).toFixed(1)} s after start (max pods per ${type}: ${maxPods(type, { prefixDelegation: pd })})`,
    );

    for (const p of pods.splice(0)) await removePod(c, p.node, p);
    console.log('');
    for (const n of c.nodes) failures += teardownReport(n);
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
    failures++;
  } finally {
    await c?.stop();
  }
  console.log(
    `\n${failures === 0 ? 'OK' : `FAILED (${failures} problems)`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
