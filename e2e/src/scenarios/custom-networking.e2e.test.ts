// Custom networking end to end (issue 10): two nodes labelled for two ENIConfigs whose subnets are in the VPC's
// secondary CIDR 100.64.0.0/16. ipamd on each node reads its ENIConfig from the Kubernetes stand-in, creates ENIs
// in that subnet with its security groups, and pods get addresses only from there; pods reach pods on the other
// node across the fabric and reach the outside through SNAT to the node's primary address. The pod ENIs' security
// group is enforced by the fabric: revoking its tcp 80 rule blocks that traffic to node-a's pods only. Network
// policy runs on the same cluster (agent on each node, the controller): a NetworkPolicy on a node-a pod admitting
// one node-b pod is enforced between the secondary-CIDR addresses, and lifted when deleted.
import { execFileSync } from 'node:child_process';
import { RevokeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import { afterAll, describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import { type CriPod, podCanPing } from '../demo/cri-pods.js';
import { type Cluster, removePod, runPod, sourceSeenOutside, startCluster } from './cluster.js';
import { canRun } from './kit.js';
import { sdkClient } from '../sim/testkit.js';
import { spawnOwned } from '../harness/owner.js';

/** A TCP connection from inside a pod: 'ok' (answered), 'dropped' (nothing within 1 s) or 'refused'. */
function tcp80(from: CriPod, ip: string): 'ok' | 'dropped' | 'refused' {
  try {
    execFileSync(
      'nsenter',
      [
        `--net=/proc/${from.pid}/ns/net`,
        process.execPath,
        '-e',
        `const s=require('net').connect({host:'${ip}',port:80,timeout:1000});s.on('data',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(2))`,
      ],
      { stdio: 'ignore', timeout: 5_000 },
    );
    return 'ok';
  } catch (e) {
    return (e as { status?: number }).status === 1 ? 'dropped' : 'refused';
  }
}

/** Polls (bounded) until `ok`: policy changes take the controller's batch window plus the agent's update. */
async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const NODE_SUBNET = 'subnet-0aaaaaaaaaaaaaaaa';
const PODS_A = 'subnet-0cccccccccccccccc';
const PODS_B = 'subnet-0dddddddddddddddd';
const SG_NODES = 'sg-01111111111111111';
const SG_PODS = 'sg-02222222222222222';

describe.skipIf(!canRun)('custom networking on two nodes', () => {
  let c: Cluster | undefined;
  afterAll(async () => {
    await c?.stop();
  });

  it('pods get addresses only from their node ENIConfig subnet, on ENIs with its groups; traffic flows', async () => {
    c = await startCluster({
      world: {
        vpc: { cidrs: ['10.0.0.0/16', '100.64.0.0/16'] },
        subnets: [
          { id: NODE_SUBNET, cidr: '10.0.1.0/24', az: 'us-west-2a' },
          { id: PODS_A, cidr: '100.64.0.0/19', az: 'us-west-2a' },
          { id: PODS_B, cidr: '100.64.32.0/19', az: 'us-west-2a' },
        ],
        securityGroups: [
          { id: SG_NODES, name: 'nodes' },
          {
            id: SG_PODS,
            name: 'pods',
            // Enforced by the fabric on node-a's pod ENIs: ping and tcp 80 from the VPC.
            ingress: [
              {
                protocol: 'icmp',
                fromPort: -1,
                toPort: -1,
                cidrs: ['10.0.0.0/16', '100.64.0.0/16'],
                groups: [],
              },
              {
                protocol: 'tcp',
                fromPort: 80,
                toPort: 80,
                cidrs: ['10.0.0.0/16', '100.64.0.0/16'],
                groups: [],
              },
            ],
          },
        ],
      },
      eniConfigs: [
        { name: 'pods-a', subnet: PODS_A, securityGroups: [SG_PODS] },
        { name: 'pods-b', subnet: PODS_B }, // no groups: the node's
      ],
      nodes: [
        { name: 'node-a', type: 'm5.large', labels: { 'k8s.amazonaws.com/eniConfig': 'pods-a' } },
        { name: 'node-b', type: 'm5.large', labels: { 'k8s.amazonaws.com/eniConfig': 'pods-b' } },
      ],
      env: { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' },
      networkPolicy: 'standard',
    });
    const cluster = c;
    const pods: CriPod[][] = [];
    for (const n of cluster.nodes)
      pods.push(
        await Promise.all(
          [0, 1, 2].map((i) =>
            runPod(cluster, n, `${n.name}-${i}`, i, { labels: { app: `${n.name}-${i}` } }),
          ),
        ),
      );
    const [a, b] = pods as [CriPod[], CriPod[]];
    const inSubnet = (id: string, ip: string) =>
      cidrContains(parseCidr(cluster.sim.world.subnet(id).cidr), ip);
    expect(a.every((p) => inSubnet(PODS_A, p.ip))).toBe(true);
    expect(b.every((p) => inSubnet(PODS_B, p.ip))).toBe(true);
    for (const [k, n] of cluster.nodes.entries()) {
      const enis = cluster.sim.world.enisOf(n.instance.instance.id);
      const primary = n.instance.instance.primaryEniId;
      expect(cluster.sim.world.eni(primary).secondaryIps).toEqual([]); // the primary ENI gives no pod addresses
      const podEnis = enis.filter((e) => e.id !== primary);
      expect(podEnis.length).toBeGreaterThan(0);
      for (const e of podEnis) {
        expect(e.subnetId).toBe(k === 0 ? PODS_A : PODS_B);
        expect(e.groups).toEqual(k === 0 ? [SG_PODS] : [SG_NODES]);
      }
    }
    expect(podCanPing(a[0]!, b[2]!.ip)).toBe(true);
    expect(podCanPing(b[1]!, a[1]!.ip)).toBe(true);
    // Outside: SNAT to node-a's primary address (a 10.0.1.x address, not the pod's 100.64.x one).
    const primaryA = cluster.sim.world.eni(cluster.nodes[0]!.instance.instance.primaryEniId).primaryIp;
    expect(await sourceSeenOutside(cluster, a[0]!.pid)).toBe(primaryA);

    // The pod ENIs' security group, enforced by the fabric: revoking tcp 80 blocks node-b's pod from node-a's
    // pod, while node-a's pod still reaches node-b's pod (node-b's ENIs carry the node group).
    const servers = [a[0]!, b[0]!].map((p) =>
      spawnOwned('nsenter', [
        `--net=/proc/${p.pid}/ns/net`,
        process.execPath,
        '-e',
        "require('net').createServer((c)=>c.end('ok')).listen(80);setTimeout(()=>process.exit(0),30000)",
      ]),
    );
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(tcp80(b[1]!, a[0]!.ip)).toBe('ok');
      // Network policy between custom-networking addresses: node-a-0 admits node-b-0 only.
      const NPS = 'networking.k8s.io/networkpolicies';
      cluster.kube.put(
        NPS,
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'a0-from-b0', namespace: 'default' },
          spec: {
            podSelector: { matchLabels: { app: 'node-a-0' } },
            ingress: [{ from: [{ podSelector: { matchLabels: { app: 'node-b-0' } } }] }],
          },
        },
        'default',
      );
      await until('node-b-1 → node-a-0 dropped by the policy', () => tcp80(b[1]!, a[0]!.ip) === 'dropped');
      expect(tcp80(b[0]!, a[0]!.ip)).toBe('ok');
      expect(tcp80(a[1]!, b[0]!.ip)).toBe('ok'); // node-b-0 is not selected
      cluster.kube.api.store.delete(NPS, 'default', 'a0-from-b0');
      await until('node-b-1 → node-a-0 open again', () => tcp80(b[1]!, a[0]!.ip) === 'ok');
      const ec2 = sdkClient(cluster.sim);
      await ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: SG_PODS,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '100.64.0.0/16' }] },
          ],
        }),
      );
      ec2.destroy();
      cluster.fabric.sync();
      expect(cluster.fabric.sgError).toBeUndefined();
      expect(tcp80(b[1]!, a[0]!.ip)).toBe('dropped');
      expect(podCanPing(b[1]!, a[0]!.ip)).toBe(true); // the icmp rule still holds
      expect(tcp80(a[1]!, b[0]!.ip)).toBe('ok');
    } finally {
      for (const s of servers) s.kill('SIGKILL');
    }

    for (const [k, n] of cluster.nodes.entries()) for (const p of pods[k]!) await removePod(cluster, n, p);
    expect(cluster.nodes.map((n) => n.allocations().size)).toEqual([0, 0]);
    expect(cluster.kube.api.store.list('/pods', 'default')).toEqual([]);
  }, 240_000);
});
