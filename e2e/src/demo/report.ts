// What the demo prints: pods with their ENI, ENIs with used/free addresses, the connectivity matrix, EC2 calls by
// action, and the teardown check. Each function that checks something returns the number of problems it saw.
import { execFileSync } from 'node:child_process';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import type { Cluster, ClusterNode } from '../scenarios/cluster.js';
import { type CriPod, podCanPing } from './cri-pods.js';

export interface PlacedPod extends CriPod {
  node: ClusterNode;
}

function eniOf(c: Cluster, n: ClusterNode, ip: string): { id: string; device: number } | undefined {
  for (const e of c.sim.world.enisOf(n.instance.instance.id)) {
    const owns = e.secondaryIps.includes(ip) || e.ipv4Prefixes.some((p) => cidrContains(parseCidr(p), ip));
    if (owns) return { id: e.id, device: e.attachment?.deviceIndex ?? -1 };
  }
  return undefined;
}

export function printPods(c: Cluster, pods: PlacedPod[]): void {
  console.log('\npods');
  console.log(
    '  name     node    ip             ENI (device)               host veth        RunPodSandbox ms',
  );
  for (const p of pods) {
    const e = eniOf(c, p.node, p.ip);
    const eni = e ? `${e.id} (${e.device})` : '?';
    console.log(
      `  ${p.name.padEnd(8)} ${p.node.name.padEnd(7)} ${p.ip.padEnd(14)} ${eni.padEnd(26)} ${p.hostVeth.padEnd(16)} ${p.ms.toFixed(1)}`,
    );
  }
}

export function printEnis(c: Cluster, n: ClusterNode): void {
  const held = new Set(n.allocations().values());
  console.log(
    `\nENIs of node ${n.name} (${n.instance.instance.id}, EC2 view; used = assigned to a pod by its ipamd)`,
  );
  const enis = [...c.sim.world.enisOf(n.instance.instance.id)].sort(
    (a, b) =>
      (a.attachment?.networkCardIndex ?? 0) - (b.attachment?.networkCardIndex ?? 0) ||
      (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0),
  );
  const cards = new Set(enis.map((e) => e.attachment?.networkCardIndex ?? 0)).size > 1;
  for (const e of enis) {
    const addrs = e.secondaryIps.length + e.ipv4Prefixes.length * 16;
    const used = [...held].filter(
      (ip) => e.secondaryIps.includes(ip) || e.ipv4Prefixes.some((p) => cidrContains(parseCidr(p), ip)),
    ).length;
    const what = e.ipv4Prefixes.length
      ? `${e.ipv4Prefixes.length} /28 prefixes`
      : `${e.secondaryIps.length} secondary IPs`;
    console.log(
      `  ${e.id} ${cards ? `card ${e.attachment?.networkCardIndex ?? '?'} ` : ''}device ${e.attachment?.deviceIndex ?? '?'} ${e.mac} primary ${e.primaryIp.padEnd(12)} ${what}: ${used} used, ${addrs - used} free`,
    );
  }
}

export function printConnectivity(pods: CriPod[], outsideIp: string): number {
  let failures = 0;
  console.log(`\nconnectivity (ping from row to column; "outside" is ${outsideIp}, reachable only via SNAT)`);
  console.log(`  ${''.padEnd(8)} ${pods.map((p) => p.name.padEnd(7)).join(' ')} outside`);
  for (const from of pods) {
    const row = pods.map((to) => {
      if (to === from) return '-'.padEnd(7);
      const ok = podCanPing(from, to.ip);
      if (!ok) failures++;
      return (ok ? 'ok' : 'FAIL').padEnd(7);
    });
    const out = podCanPing(from, outsideIp);
    if (!out) failures++;
    console.log(`  ${from.name.padEnd(8)} ${row.join(' ')} ${out ? 'ok' : 'FAIL'}`);
  }
  return failures;
}

export function printEc2Calls(c: Cluster): void {
  const counts = Object.entries(c.sim.faults.counts()).sort(([a], [b]) => a.localeCompare(b));
  console.log(`\nEC2 calls made by the ${c.nodes.length} ipamds (simulator log)`);
  for (const [action, count] of counts) console.log(`  ${action.padEnd(34)} ${count}`);
}

export function teardownReport(n: ClusterNode): number {
  const links = execFileSync('ip', ['-n', n.netns, '-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /: eni[0-9a-f]+@/.test(l));
  const routes = execFileSync('ip', ['-n', n.netns, '-4', 'route', 'show', 'table', 'all'], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter((l) => / dev eni[0-9a-f]+/.test(l));
  const held = n.allocations().size;
  console.log(
    `teardown ${n.name}: pods deleted over CRI (StopPodSandbox + RemovePodSandbox: two DELs each); host veths left: ${links.length}; ` +
      `addresses still assigned in ipamd: ${held}; pod routes left: ${routes.length}`,
  );
  return links.length + held + routes.length > 0 ? 1 : 0;
}
