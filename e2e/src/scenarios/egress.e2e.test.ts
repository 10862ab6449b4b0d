// egress-cni through containerd on a simulated node of the VPC fabric, booted as the aws-node DaemonSet boots it
// (init, entrypoint, ipamd; the entrypoint writes the conflist that chains egress-cni): an IPv6 cluster with
// default settings gives its pods IPv4 egress to the fabric's IPv4 outside host, which knows only the node's IPv4
// address; an IPv4 cluster with ENABLE_V6_EGRESS=true gives its pods IPv6 egress to the fabric's IPv6-only
// outside host, which knows only the node's IPv6 address.
// Deleting the pods leaves no SNAT chain, no egress veth and no egress address reservation. The IPv6 cluster has two
// nodes with network policy on: after its egress checks it runs the IPv6 network policy scenario (netpol-ipv6.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CriPod, createPod, deletePod, podCanPing } from '../demo/cri-pods.js';
import { OUTSIDE_IP, OUTSIDE_IPV6 } from '../vpc/index.js';
import { type Cluster, type ClusterNode, startCluster } from './cluster.js';
import { canRun } from './kit.js';
import { PodProcesses } from './netpol-kit.js';
import { expectIpv6PolicyMatrix } from './netpol-ipv6.js';
/** The egress IPAM directories the entrypoint's conflist names (host-local's layout: <dataDir>/<network>). */
const IPAM_DIRS = ['/run/cni/v6pd/egress-v4-ipam/aws-cni', '/run/cni/v4pd/egress-v6-ipam/aws-cni'];

let current: Cluster | undefined;
let processes: PodProcesses | undefined;
const created: CriPod[] = [];
afterEach(async () => {
  processes?.close();
  processes = undefined;
  await current?.stop();
  current = undefined;
  // A failed run may leave reservations of its own sandboxes (ids are unique): remove exactly those.
  for (const d of IPAM_DIRS)
    for (const f of existsSync(d) ? readdirSync(d) : []) {
      const owner = readFileSync(join(d, f), 'utf8').split('\r\n')[0];
      if (created.some((p) => p.id === owner)) rmSync(join(d, f), { force: true });
    }
  created.length = 0;
});

const inPod = (p: CriPod, ...a: string[]) =>
  execFileSync('nsenter', [`--net=/proc/${p.pid}/ns/net`, ...a], { encoding: 'utf8' });
const podAddrs = (p: CriPod, family: 4 | 6, dev: string) =>
  (
    JSON.parse(inPod(p, 'ip', '-j', `-${family}`, 'addr', 'show', 'dev', dev)) as {
      addr_info: { local: string; scope: string }[];
    }[]
  ).flatMap((l) => l.addr_info.filter((a) => a.scope === 'global').map((a) => a.local));
const natSave = (n: ClusterNode, family: 4 | 6) =>
  execFileSync(
    'ip',
    ['netns', 'exec', n.netns, family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'nat'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
const egressChains = (n: ClusterNode, family: 4 | 6) =>
  natSave(n, family)
    .split('\n')
    .filter((l) => l.startsWith(`:CNI-E${family}-`));
const nodeVeths = (n: ClusterNode) =>
  (
    JSON.parse(execFileSync('ip', ['-n', n.netns, '-j', 'link', 'show'], { encoding: 'utf8' })) as {
      ifname: string;
    }[]
  )
    .map((l) => l.ifname)
    .filter((name) => /^veth[0-9a-f]{8}$/.test(name));
const reservationsOf = (pods: CriPod[]) =>
  IPAM_DIRS.flatMap((d) =>
    (existsSync(d) ? readdirSync(d) : []).filter((f) =>
      pods.some((p) => readFileSync(join(d, f), 'utf8').startsWith(`${p.id}\r\n`)),
    ),
  );
const egressPlugin = (n: ClusterNode) =>
  (
    JSON.parse(readFileSync(join(n.node.cniConfDir, '10-aws.conflist'), 'utf8')) as {
      plugins: { type: string; enabled?: string; nodeIP?: string }[];
    }
  ).plugins.find((p) => p.type === 'egress-cni');

async function makePods(n: ClusterNode, prefix: string, count: number): Promise<CriPod[]> {
  const pods: CriPod[] = [];
  for (let i = 0; i < count; i++) {
    const p = await createPod(n.cri, `${prefix}-${i}`, i);
    created.push(p);
    pods.push(p);
  }
  return pods;
}

describe.skipIf(!canRun)('egress-cni through containerd', () => {
  it('IPv6 cluster, default settings: pods reach an IPv4-only host through the node IPv4 (SNAT); network policy', async () => {
    const t0 = performance.now();
    const c = (current = await startCluster({
      nodes: [
        { name: 'v6-node', type: 'm5.large', ipv6: true },
        { name: 'v6-peer', type: 'm5.large', ipv6: true },
      ],
      env: { ENABLE_IPv6: 'true', ENABLE_IPv4: 'false', ENABLE_PREFIX_DELEGATION: 'true' },
      networkPolicy: 'standard',
    }));
    const boot = performance.now() - t0;
    const n = c.nodes[0]!;
    const nodeIp = c.sim.world.eni(n.instance.instance.primaryEniId).primaryIp;
    expect(egressPlugin(n)).toMatchObject({ enabled: 'true', nodeIP: nodeIp }); // ENABLE_V4_EGRESS defaults to true
    const pods = await makePods(n, 'v4egress', 3);
    const egressIps = pods.map((p) => podAddrs(p, 4, 'v4if0'));
    for (const ips of egressIps) expect(ips).toEqual([expect.stringMatching(/^169\.254\.17[2-5]\.\d+$/)]);
    expect(new Set(egressIps.flat()).size).toBe(3);
    for (const p of pods) {
      expect(podAddrs(p, 4, 'eth0')).toEqual([]); // an IPv6 pod: IPv4 leaves only through v4if0
      expect(podCanPing(p, OUTSIDE_IP)).toBe(true); // the outside routes back only to the node's address
    }
    expect(podCanPing(pods[0]!, pods[2]!.ip)).toBe(true); // pod-to-pod IPv6 untouched
    expect(egressChains(n, 4)).toHaveLength(3);
    expect(natSave(n, 4)).toContain(`-j SNAT --to-source ${nodeIp} --random-fully`);
    expect(reservationsOf(pods)).toHaveLength(3);

    for (const p of pods) await deletePod(n.cri, p);
    expect(egressChains(n, 4)).toEqual([]);
    expect(natSave(n, 4)).not.toMatch(/-j CNI-E4-/);
    expect(nodeVeths(n)).toEqual([]);
    expect(reservationsOf(pods)).toEqual([]);
    expect(n.allocations().size).toBe(0);

    // The same cluster enforces network policy between IPv6 pods on both nodes.
    const t1 = performance.now();
    const phases = await expectIpv6PolicyMatrix(c, (processes = new PodProcesses()));
    console.log(
      [`boot ${Math.round(boot)} ms`, `egress ${Math.round(t1 - t0 - boot)} ms`, ...phases].join('\n'),
    );
  }, 420_000);

  it('IPv4 cluster with ENABLE_V6_EGRESS=true: pods reach an IPv6-only host through the node IPv6', async () => {
    const c = (current = await startCluster({
      // The instance has an IPv6 address; the cluster is IPv4.
      nodes: [{ name: 'v4-node', type: 'm5.large', ipv6: true }],
      env: { ENABLE_V6_EGRESS: 'true' },
    }));
    const n = c.nodes[0]!;
    const nodeIpv6 = c.sim.world.eni(n.instance.instance.primaryEniId).ipv6Addresses[0];
    expect(egressPlugin(n)).toMatchObject({ enabled: 'true', nodeIP: nodeIpv6 });
    const pods = await makePods(n, 'v6egress', 2);
    for (const p of pods) {
      expect(podAddrs(p, 6, 'v6if0')).toEqual([expect.stringMatching(/^fd00::ac:[0-9a-f]+$/)]);
      expect(inPod(p, 'sysctl', '-n', 'net.ipv6.conf.eth0.disable_ipv6').trim()).toBe('1');
      expect(podCanPing(p, OUTSIDE_IPV6)).toBe(true); // an IPv6-only host that knows only the node's IPv6
    }
    expect(podCanPing(pods[0]!, pods[1]!.ip)).toBe(true); // pod-to-pod IPv4 untouched
    expect(egressChains(n, 6)).toHaveLength(2);
    expect(natSave(n, 6)).toContain(`-j SNAT --to-source ${nodeIpv6} --random-fully`);

    for (const p of pods) await deletePod(n.cri, p);
    expect(egressChains(n, 6)).toEqual([]);
    expect(natSave(n, 6)).not.toMatch(/-j CNI-E6-/);
    expect(nodeVeths(n)).toEqual([]);
    expect(reservationsOf(pods)).toEqual([]);
  }, 240_000);
});
