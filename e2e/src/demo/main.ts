// `npm run demo`: a simulated node in its own network namespace, pods created by running the real aws-cni
// executable exactly as containerd does (env + stdin, inside the node netns), with what a user wants to see:
// pods and addresses, pod-to-pod connectivity, timings, and a clean teardown.
// Addresses come from the real ipamd (aws-k8s-agent) in the node netns; its ENIs are described statically
// until the EC2 simulator lands (the second ENI's addresses are added on demand, as EC2 would).
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxPods, instanceLimits } from '@vpc-cni/shared/limits';
import { type DemoEni, IpamdProcess } from './ipamd-process.js';
import { addNetns, canPing, inNetns, removeAllNetns, removeNetns } from './netns.js';

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

interface Pod {
  name: string;
  netns: string;
  id: string;
  ip?: string;
  hostVeth?: string;
  addMs?: number;
}

/** Runs aws-cni as containerd does, inside the node netns. */
function runCni(
  nodeNs: string,
  command: string,
  pod: Pod,
  netnsPath: string,
  logFile: string,
  socket: string,
): Promise<{ json: Record<string, unknown>; ms: number }> {
  const conf = {
    cniVersion: '1.0.0',
    name: 'aws-cni',
    type: 'aws-cni',
    vethPrefix: 'eni',
    mtu: '9001',
    podSGEnforcingMode: 'strict',
    pluginLogFile: logFile,
    pluginLogLevel: 'Debug',
    ipamdEndpoint: `unix://${socket}`,
  };
  const t0 = process.hrtime.bigint();
  const child = spawn('ip', ['netns', 'exec', nodeNs, awsCni], {
    env: {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: pod.id,
      CNI_NETNS: netnsPath,
      CNI_IFNAME: 'eth0',
      CNI_PATH: join(root, 'dist/bin'),
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.id}`,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(JSON.stringify(conf));
  return new Promise((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) {
        reject(new Error(`aws-cni ${command} for ${pod.name} failed (exit ${code}): ${stdout}${stderr}`));
        return;
      }
      resolveRun({ json: stdout ? (JSON.parse(stdout) as Record<string, unknown>) : {}, ms });
    });
  });
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
    `  aws-cni: ${(statSync(awsCni).size / 1048576).toFixed(1)} MiB single executable, run as containerd would`,
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
  const pods: Pod[] = [];
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
    const logFile = join(ipamd.dir, 'plugin.log');

    for (let i = 0; i < podCount; i++) {
      const pod: Pod = { name: `web-${i}`, netns: addNetns(`pod${i}`), id: `sandbox${i}${process.pid}` };
      const { json, ms } = await runCni(
        node,
        'ADD',
        pod,
        `/var/run/netns/${pod.netns}`,
        logFile,
        ipamd.socket,
      );
      const ips = (json['ips'] as Array<{ address: string }> | undefined) ?? [];
      const ifaces = (json['interfaces'] as Array<{ name: string; sandbox?: string }> | undefined) ?? [];
      pod.ip = ips[0]?.address.split('/')[0];
      pod.hostVeth = ifaces.find((f) => !f.sandbox)?.name;
      pod.addMs = ms;
      pods.push(pod);
    }

    console.log('\npods');
    console.log('  name     ip           ENI (device)       host veth        ADD ms');
    for (const p of pods) {
      const eni = ipamd.eniOf(String(p.ip));
      const eniText = eni ? `${eni.id} (${eni.deviceNumber})` : '?';
      console.log(
        `  ${p.name.padEnd(8)} ${String(p.ip).padEnd(12)} ${eniText.padEnd(18)} ${String(p.hostVeth).padEnd(16)} ${p.addMs?.toFixed(1)}`,
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
        const ok = canPing(from.netns, to.ip as string);
        if (!ok) failures++;
        return (ok ? 'ok' : 'FAIL').padEnd(7);
      });
      const out = canPing(from.netns, OUTSIDE_IP);
      if (!out) failures++;
      console.log(`  ${from.name.padEnd(8)} ${row.join(' ')} ${out ? 'ok' : 'FAIL'}`);
    }

    // Tear down as containerd does: DEL with the netns (StopPodSandbox), then DEL with CNI_NETNS empty.
    for (const p of pods) {
      await runCni(node, 'DEL', p, `/var/run/netns/${p.netns}`, logFile, ipamd.socket);
      removeNetns(p.netns); // the runtime destroys the sandbox netns, taking the pod end of the veth
      await runCni(node, 'DEL', p, '', logFile, ipamd.socket);
    }
    const leftover = inNetns(node, ['ip', '-o', 'link', 'show'])
      .split('\n')
      .filter((l) => /: eni[0-9a-f]+@/.test(l));
    // Pod routes only (dev eni*): the node's own eth0 routes stay.
    const routes = inNetns(node, ['ip', '-4', 'route', 'show', 'table', 'main'])
      .split('\n')
      .filter((l) => / dev eni[0-9a-f]+/.test(l))
      .join('\n');
    console.log(
      `\nteardown: ${pods.length} pods deleted (two DELs each); host veths left: ${leftover.length}; ` +
        `addresses still assigned in ipamd: ${ipamd.allocations().size}; pod routes left: ${routes ? routes.split('\n').length : 0}`,
    );
    if (leftover.length > 0 || ipamd.allocations().size > 0 || routes) failures++;
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
    failures++;
  } finally {
    await ipamd.stop();
    removeAllNetns();
  }
  console.log(
    `\n${failures === 0 ? 'OK' : `FAILED (${failures} problems)`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main();
