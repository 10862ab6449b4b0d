// `npm run demo`: a simulated EKS node. The EC2 + IMDS simulator launches an instance; its ENIs appear as links in
// the node's network namespace when attached; the real ipamd (aws-k8s-agent) runs there in EC2 mode; a private
// containerd creates pods over CRI as kubelet does and calls the real aws-cni. Prints pods, ENIs with used/free
// addresses, pod-to-pod and pod-to-outside (SNAT) connectivity, the EC2 calls made, timings, and checks a clean
// teardown. Exits non-zero if anything failed.
import { existsSync, statSync } from 'node:fs';
import { instanceLimits, maxPods } from '@vpc-cni/shared/limits';
import { realisticTiming } from '../sim/index.js';
import { type CriPod, createPod, deletePod } from './cri-pods.js';
import { AGENT, AWS_CNI, type ScenarioNode, startScenarioNode } from '../scenarios/kit.js';
import { printConnectivity, printEc2Calls, printEnis, printPods, teardownReport } from './report.js';

const OUTSIDE_IP = '198.51.100.7';

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : dflt;
}
const has = (name: string) => process.argv.includes(`--${name}`);

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
  const podCount = Number(flag('pods', '12'));
  const pd = has('prefix-delegation');
  const limits = instanceLimits(type);
  if (!limits || !Number.isInteger(podCount) || podCount < 1) {
    console.error(`demo: unknown instance type ${type} or bad --pods`);
    return 1;
  }
  const env: Record<string, string> = {
    ...(pd ? { ENABLE_PREFIX_DELEGATION: 'true' } : {}),
    ...(has('warm-eni-target') ? { WARM_ENI_TARGET: flag('warm-eni-target', '1') } : {}),
    ...(has('warm-ip-target') ? { WARM_IP_TARGET: flag('warm-ip-target', '0') } : {}),
    ...(has('minimum-ip-target') ? { MINIMUM_IP_TARGET: flag('minimum-ip-target', '0') } : {}),
    ...(has('warm-prefix-target') ? { WARM_PREFIX_TARGET: flag('warm-prefix-target', '1') } : {}),
  };
  console.log(`vpc-cni-ts demo: one simulated ${type} node${pd ? ' with prefix delegation' : ''}`);
  console.log(
    `  instance limits: ${limits.enis} ENIs x ${limits.ipv4PerEni} IPv4 -> max pods ${maxPods(type)} ` +
      `(prefix delegation: ${maxPods(type, { prefixDelegation: true })})`,
  );
  console.log(
    `  aws-cni: ${(statSync(AWS_CNI).size / 1048576).toFixed(1)} MiB single executable, called by containerd`,
  );
  console.log(
    '  node boot as the aws-node DaemonSet: aws-vpc-cni-init, then aws-vpc-cni (starts ipamd, writes 10-aws.conflist)\n' +
      '  ipamd: the real aws-k8s-agent in the node netns, EC2 mode: IMDS at 169.254.169.254, EC2 API from the simulator ' +
      '(realistic latencies: create ~300 ms, attach visible after ~1.5 s)',
  );

  const t0 = Date.now();
  let n: ScenarioNode | undefined;
  const pods: CriPod[] = [];
  let failures = 0;
  try {
    n = await startScenarioNode({
      type,
      env,
      outsideIp: OUTSIDE_IP,
      world: {
        subnets: [{ id: 'subnet-0aaaaaaaaaaaaaaaa', cidr: '10.0.16.0/20', az: 'us-west-2a' }],
        faults: realisticTiming(),
      },
    });
    const startedS = (Date.now() - t0) / 1000;
    console.log(
      `  node ${n.instance.instance.id} ready (ipamd SERVING, containerd up) in ${startedS.toFixed(1)} s`,
    );
    const tPods = Date.now();
    for (let i = 0; i < podCount; i += 4)
      pods.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(4, podCount - i) }, (_, j) =>
            createPod(n!.cri, `web-${i + j}`, i + j),
          ),
        )),
      );
    const podsS = (Date.now() - tPods) / 1000;

    printPods(n, pods);
    printEnis(n);
    failures += printConnectivity(pods, OUTSIDE_IP);
    printEc2Calls(n);
    console.log(
      `\n${pods.length} pods ready ${podsS.toFixed(1)} s after the first RunPodSandbox, ${((Date.now() - t0) / 1000).toFixed(1)} s after start ` +
        `(max pods on ${type}: ${maxPods(type, { prefixDelegation: pd })})`,
    );

    for (const p of pods.splice(0)) await deletePod(n.cri, p);
    failures += teardownReport(n);
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
    failures++;
  } finally {
    await n?.stop();
  }
  console.log(
    `\n${failures === 0 ? 'OK' : `FAILED (${failures} problems)`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
