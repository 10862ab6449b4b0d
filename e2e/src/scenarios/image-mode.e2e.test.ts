// The two-node traffic scenario with the aws-node pod run from the built image, as deployed (issue 21): each
// node's containerd imports dist/image/vpc-cni-ts.oci.tar and runs deploy/aws-k8s-cni.yaml's init container, then
// its aws-node and aws-network-policy-agent containers (node/image-pod.ts); pods are then created over CRI and
// wired by the aws-cni the init container installed, served by the ipamd inside the aws-node container, and the
// policy agent answers its health endpoints on a bpffs of the node's own. The test command builds the image before
// this file runs; without the archive the tests fail (VPC_CNI_SKIP_IMAGE=1 skips them). The second case is custom
// networking (one node, its ENIConfig read by ipamd in the container from the Kubernetes stand-in).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import { type CriPod, createPod, podCanPing } from '../demo/cri-pods.js';
import { imageTests } from '../node/image-pod.js';
import { type Cluster, runPod, startCluster } from './cluster.js';
import { canRun } from './kit.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

const BPF_FS_MAGIC = 0xcafe4a11;
const image = imageTests();

describe.skipIf(!canRun || image.skip)(`aws-node pod from the image${image.title}`, () => {
  beforeEach(() => image.require()); // each test fails on its own when the archive is missing

  it('init installs the plugins, ipamd in the container serves, pods on both nodes reach each other', async () => {
    const c = (cluster = await startCluster({
      nodes: [
        { name: 'a', type: 'm5.large' },
        { name: 'b', type: 'm5.large' },
      ],
      fromImage: true,
    }));
    for (const n of c.nodes) {
      // What the init container (from the image) put on the node, and the conflist aws-node wrote.
      expect(execFileSync('ls', [n.node.cniBinDir], { encoding: 'utf8' }).split('\n')).toEqual(
        expect.arrayContaining(['aws-cni', 'egress-cni', 'loopback', 'portmap', 'host-local']),
      );
      const conflist = JSON.parse(readFileSync(join(n.node.cniConfDir, '10-aws.conflist'), 'utf8')) as {
        plugins: { type: string }[];
      };
      expect(conflist.plugins.map((p) => p.type)).toEqual(['aws-cni', 'egress-cni', 'portmap']);
      expect(n.node.agent).toBeUndefined(); // nothing spawned outside the image
      // The policy agent container beside aws-node: ready by its health endpoint (the manifest's
      // --health-probe-bind-addr=:8163), its gRPC server up (healthz asks it), metrics on :8162, its log where
      // the manifest's --log-file says, and /sys/fs/bpf inside it is the node's own bpffs.
      const pod = n.node.imagePod!;
      expect(pod.containers).toEqual([
        { name: 'aws-node', probe: expect.objectContaining({ kind: 'exec' }) },
        { name: 'aws-network-policy-agent', probe: { kind: 'http', port: 8163, path: '/readyz' } },
      ]);
      expect(await pod.httpGet(8163, '/readyz')).toEqual({ status: 200, body: 'ok' });
      expect(await pod.httpGet(8163, '/healthz')).toEqual({ status: 200, body: 'ok' });
      const metrics = await pod.httpGet(8162, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/^# HELP network_policy_drop_count_total /m);
      expect(existsSync(join(n.node.dir, 'log', 'network-policy-agent.log'))).toBe(true);
      const bpffs = join(n.node.dir, 'bpffs');
      expect(statfsSync(bpffs).type).toBe(BPF_FS_MAGIC);
      const mark = `vct-${n.name}-${process.pid}`;
      await pod.exec('aws-network-policy-agent', ['mkdir', `/sys/fs/bpf/${mark}`]);
      expect(existsSync(join(bpffs, mark))).toBe(true);
      expect(existsSync(join('/sys/fs/bpf', mark))).toBe(false); // not the host's
      await pod.exec('aws-network-policy-agent', ['rmdir', `/sys/fs/bpf/${mark}`]);
    }
    const pods: CriPod[][] = [];
    for (const n of c.nodes)
      pods.push([await createPod(n.cri, `${n.name}-0`, 0), await createPod(n.cri, `${n.name}-1`, 1)]);
    const [a, b] = pods as [CriPod[], CriPod[]];
    for (const [from, to] of [
      [a[0]!, b[0]!],
      [b[1]!, a[1]!],
    ] as const)
      expect(podCanPing(from, to.ip), `${from.name} (${from.ip}) → ${to.name} (${to.ip})`).toBe(true);
    expect(podCanPing(a[0]!, c.outsideIp)).toBe(true);
    for (const n of c.nodes) expect(n.allocations().size).toBe(2);
  });

  it('custom networking: ipamd in the container reads the ENIConfig and pods get addresses from its subnet', async () => {
    const PODS = 'subnet-0cccccccccccccccc';
    const c = (cluster = await startCluster({
      world: {
        vpc: { cidrs: ['10.0.0.0/16', '100.64.0.0/16'] },
        subnets: [
          { id: 'subnet-0aaaaaaaaaaaaaaaa', cidr: '10.0.1.0/24', az: 'us-west-2a' },
          { id: PODS, cidr: '100.64.0.0/19', az: 'us-west-2a' },
        ],
      },
      eniConfigs: [{ name: 'pods-a', subnet: PODS }],
      nodes: [{ name: 'node-a', type: 'm5.large', labels: { 'k8s.amazonaws.com/eniConfig': 'pods-a' } }],
      env: { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' },
      fromImage: true,
    }));
    const n = c.nodes[0]!;
    const pods = [await runPod(c, n, 'cn-0', 0), await runPod(c, n, 'cn-1', 1)];
    const subnet = parseCidr(c.sim.world.subnet(PODS).cidr);
    expect(pods.map((p) => cidrContains(subnet, p.ip))).toEqual([true, true]);
    expect(podCanPing(pods[0]!, pods[1]!.ip)).toBe(true);
    expect(podCanPing(pods[0]!, c.outsideIp)).toBe(true);
  });
});
