// `npm run demo`: a simulated node in its own network namespace; a private containerd creates pods over CRI as
// kubelet does and calls the real aws-cni, which gets addresses from the real ipamd (aws-k8s-agent) in the same
// netns. Prints pods and addresses, ENI use, pod-to-pod and pod-to-outside (SNAT) connectivity, timings, and checks
// a clean teardown. ENIs are described statically until the demo moves to the EC2 simulator (the second ENI's
// addresses are added on demand, as EC2 would).
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxPods, instanceLimits } from '@vpc-cni/shared/limits';
import { type DemoEni, IpamdProcess } from './ipamd-process.js';
import { type CriPod, createPod, deletePod, podCanPing, startRuntime } from './cri-pods.js';
import type { CriClient, PrivateContainerd } from '../cri/index.js';
import { addNetns, inNetns, removeAllNetns } from './netns.js';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const awsCni = join(root, 'dist/bin/aws-cni');
const agent = join(root, 'dist/bin/aws-k8s-agent');
const NODE_MAC = '02:42:0a:00:00:05';
const NODE_IP = '10.0.0.5';
const OUTSIDE_IP = '198.51.100.7';

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : dflt;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('demo: needs root (it creates network namespaces)');
    return 1;
  }
  if (!existsSync(awsCni)) {
    console.error('demo: dist/bin/aws-cni is missing; run `pnpm build` first');
    return 1;
  }
  const type = flag('instance-type', 'm5.large');
  const podCount = Number(flag('pods', '12'));
  const limits = instanceLimits(type);
  if (!limits) {
    console.error(`demo: unknown instance type ${type}`);
    return 1;
  }
  console.log(`vpc-cni-ts demo: one simulated ${type} node`);
  console.log(
    `  instance limits: ${limits.enis} ENIs x ${limits.ipv4PerEni} IPv4 -> max pods ${maxPods(type)} ` +
      `(prefix delegation: ${maxPods(type, { prefixDelegation: true })})`,
  );
  console.log(
    `  aws-cni: ${(statSync(awsCni).size / 1048576).toFixed(1)} MiB single executable, called by containerd`,
  );
  console.log(
    '  ipamd: the real aws-k8s-agent in the node netns; ENIs described statically (EC2 simulator not landed yet)',
  );

  const t0 = Date.now();
  const perEni = limits.ipv4PerEni - 1; // the ENI's own primary address is never a pod address
  const enis: DemoEni[] = [
    {
      id: 'eni-0primary',
      deviceNumber: 0,
      mac: NODE_MAC,
      primaryIp: NODE_IP,
      vpcCidrs: ['10.0.0.0/16'],
      ips: Array.from({ length: perEni }, (_, i) => `10.0.1.${10 + i}`),
      reserve: [],
    },
    {
      id: 'eni-0second',
      deviceNumber: 1,
      ips: [],
      reserve: Array.from({ length: perEni }, (_, i) => `10.0.2.${10 + i}`),
    },
  ];
  const ipamd = new IpamdProcess(agent, enis);
  const pods: CriPod[] = [];
  let cri: CriClient | undefined;
  let containerd: PrivateContainerd | undefined;
  let failures = 0;
  try {
    const node = addNetns('node');
    const outside = addNetns('outside');
    // The node's primary ENI (eth0) faces an "internet" namespace that knows only the node's address, so a pod
    // reaches it only through ipamd's SNAT.
    inNetns(node, [
      'ip',
      'link',
      'add',
      'eth0',
      'address',
      NODE_MAC,
      'type',
      'veth',
      'peer',
      'name',
      'o0',
      'netns',
      outside,
    ]);
    inNetns(node, ['ip', 'addr', 'add', `${NODE_IP}/24`, 'dev', 'eth0']);
    inNetns(node, ['ip', 'link', 'set', 'eth0', 'up']);
    inNetns(node, ['ip', 'route', 'add', `${OUTSIDE_IP}/32`, 'dev', 'eth0']);
    inNetns(outside, ['ip', 'addr', 'add', `${OUTSIDE_IP}/32`, 'dev', 'o0']);
    inNetns(outside, ['ip', 'link', 'set', 'o0', 'up']);
    inNetns(outside, ['ip', 'route', 'add', `${NODE_IP}/32`, 'dev', 'o0']);
    await ipamd.start(node);
    const snat = inNetns(node, ['iptables', '-t', 'nat', '-S', 'AWS-SNAT-CHAIN-0'])
      .trim()
      .split('\n')
      .slice(1);
    console.log(
      `  host networking by ipamd: ${snat.length} rules in AWS-SNAT-CHAIN-0, e.g. ${snat.at(-1) ?? 'none'}`,
    );
    inNetns(node, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    const runtime = await startRuntime({
      nodeNs: node,
      workDir: ipamd.dir,
      awsCni,
      ipamdSocket: ipamd.socket,
      cacheDir: join(root, 'dist/cache'),
    });
    cri = runtime.cri;
    containerd = runtime.containerd;
    const v = await cri.version();
    console.log(`  runtime: ${v.runtime_name} ${v.runtime_version} in the node netns, pods created over CRI`);

    for (let i = 0; i < podCount; i++) pods.push(await createPod(cri, `web-${i}`, i));
    const ready = (Date.now() - t0) / 1000;

    console.log('\npods');
    console.log('  name     ip           ENI (device)       host veth        RunPodSandbox ms');
    for (const p of pods) {
      const eni = ipamd.eniOf(p.ip);
      const eniText = eni ? `${eni.id} (${eni.deviceNumber})` : '?';
      console.log(
        `  ${p.name.padEnd(8)} ${p.ip.padEnd(12)} ${eniText.padEnd(18)} ${p.hostVeth.padEnd(16)} ${p.ms.toFixed(1)}`,
      );
    }
    const held = ipamd.allocations();
    console.log('\nENIs (from ipamd checkpoint)');
    for (const e of enis) {
      const used = [...held.keys()].filter((ip) => e.ips.includes(ip) || e.reserve.includes(ip)).length;
      console.log(`  ${e.id.padEnd(14)} device ${e.deviceNumber}: ${used} pod addresses assigned`);
    }

    console.log(
      `\nconnectivity (ping from row to column; "outside" is ${OUTSIDE_IP}, reachable only via SNAT)`,
    );
    console.log(`  ${''.padEnd(8)} ${pods.map((p) => p.name.padEnd(7)).join(' ')} outside`);
    for (const from of pods) {
      const row = pods.map((to) => {
        if (to === from) return '-'.padEnd(7);
        const ok = podCanPing(from, to.ip);
        if (!ok) failures++;
        return (ok ? 'ok' : 'FAIL').padEnd(7);
      });
      const out = podCanPing(from, OUTSIDE_IP);
      if (!out) failures++;
      console.log(`  ${from.name.padEnd(8)} ${row.join(' ')} ${out ? 'ok' : 'FAIL'}`);
    }
    console.log(
      `\n${pods.length} pods ready ${ready.toFixed(1)} s after start (max pods on ${type}: ${maxPods(type)})`,
    );

    for (const p of pods) await deletePod(cri, p);
    const leftover = inNetns(node, ['ip', '-o', 'link', 'show'])
      .split('\n')
      .filter((l) => /: eni[0-9a-f]+@/.test(l));
    // Pod routes only (dev eni*): the node's own eth0 routes stay.
    const routes = inNetns(node, ['ip', '-4', 'route', 'show', 'table', 'main'])
      .split('\n')
      .filter((l) => / dev eni[0-9a-f]+/.test(l))
      .join('\n');
    console.log(
      `\nteardown: ${pods.length} pods deleted over CRI (StopPodSandbox + RemovePodSandbox: two DELs each); host veths left: ${leftover.length}; ` +
        `addresses still assigned in ipamd: ${ipamd.allocations().size}; pod routes left: ${routes ? routes.split('\n').length : 0}`,
    );
    if (leftover.length > 0 || ipamd.allocations().size > 0 || routes) failures++;
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
    failures++;
  } finally {
    cri?.close();
    await containerd?.stop();
    await ipamd.stop();
    removeAllNetns();
  }
  console.log(
    `\n${failures === 0 ? 'OK' : `FAILED (${failures} problems)`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
