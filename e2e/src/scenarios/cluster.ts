// Several simulated nodes on one VPC fabric: the simulator, the fabric (node netns, router, outside), and per node
// the aws-node boot (init + entrypoint + ipamd in EC2 mode) and a private containerd. stop() removes everything.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient, PrivateContainerd } from '../cri/index.js';
import { type CriPod, createPod, deletePod } from '../demo/cri-pods.js';
import { KubeApiSim } from '../kube/index.js';
import { SimNode } from '../node/index.js';
import { type Node, Sim, type SimOptions } from '../sim/index.js';
import { SG_1, SUBNET_A, smallWorld } from '../sim/testkit.js';
import { OUTSIDE_IP, VpcFabric } from '../vpc/index.js';
import { AGENT, ROOT } from './kit.js';

export interface ClusterNode {
  name: string;
  instance: Node;
  node: SimNode;
  netns: string;
  cri: CriClient;
  containerd: PrivateContainerd;
  allocations(): Map<string, string>;
}

export interface Cluster {
  sim: Sim;
  fabric: VpcFabric;
  kube: KubeApiSim;
  nodes: ClusterNode[];
  outsideIp: string;
  stop(): Promise<void>;
}

export async function startCluster(o: {
  /** `ipv6`: the instance gets an IPv6 address (the fabric configures it and routes it to OUTSIDE_IPV6). */
  nodes: { name: string; type: string; labels?: Record<string, string>; ipv6?: boolean }[];
  /** Objects created in the Kubernetes stand-in before the nodes boot (e.g. ENIConfigs). */
  eniConfigs?: { name: string; subnet: string; securityGroups?: string[] }[];
  env?: Record<string, string>;
  world?: Partial<SimOptions>;
}): Promise<Cluster> {
  const sim = await Sim.start({ ...smallWorld(), faults: { attachDelayMs: 200 }, ...o.world });
  const fabric = VpcFabric.create(sim);
  const kube = await KubeApiSim.start();
  const nodes: ClusterNode[] = [];
  const stop = async () => {
    for (const n of nodes) {
      n.cri.close();
      await n.containerd.stop();
      await n.node.stop();
    }
    fabric.destroy();
    await kube.stop();
    await sim.stop();
  };
  try {
    const subnetId = o.world?.subnets?.[0]?.id ?? SUBNET_A;
    kube.put('namespaces', { metadata: { name: 'default' } });
    for (const e of o.eniConfigs ?? [])
      kube.put('crd.k8s.amazonaws.com/eniconfigs', {
        apiVersion: 'crd.k8s.amazonaws.com/v1alpha1',
        kind: 'ENIConfig',
        metadata: { name: e.name },
        spec: { subnet: e.subnet, securityGroups: e.securityGroups ?? [] },
      });
    for (const spec of o.nodes) {
      const instance = await sim.launch({
        type: spec.type,
        subnetId,
        groups: [SG_1],
        tags: { Name: spec.name },
        ...(spec.ipv6 ? { ipv6: true } : {}),
      });
      const netns = fabric.nodeNetns(instance.instance.id);
      const maxPods = String(110);
      kube.put('nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: spec.name, labels: { 'kubernetes.io/hostname': spec.name, ...spec.labels } },
        spec: { providerID: `aws:///us-west-2a/${instance.instance.id}` },
        status: { capacity: { pods: maxPods } },
      });
      const node = new SimNode({
        sim,
        node: instance,
        netns,
        agentBinary: AGENT,
        env: o.env ?? {},
        kube: { sim: kube, nodeName: spec.name },
      });
      await node.startAwsNode();
      execFileSync('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      const containerd = new PrivateContainerd({
        nodeNs: netns,
        cniBinDir: node.cniBinDir,
        cniConfDir: node.cniConfDir,
        cacheDir: join(ROOT, 'dist/cache'),
      });
      await containerd.start();
      const checkpoint = node.checkpoint;
      nodes.push({
        name: spec.name,
        instance,
        node,
        netns,
        cri: new CriClient(containerd.socket),
        containerd,
        allocations: () => {
          const doc = JSON.parse(
            readFileSync(checkpoint, 'utf8').replace(/"allocationTimestamp":\d+/g, '"allocationTimestamp":0'),
          ) as { allocations: { containerID: string; ipv4?: string; ipv6?: string }[] };
          return new Map(doc.allocations.map((a) => [a.containerID, a.ipv4 || a.ipv6 || '']));
        },
      });
    }
    return { sim, fabric, kube, nodes, outsideIp: OUTSIDE_IP, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** As the scheduler and kubelet do: the Pod object bound to the node, then its sandbox over CRI. */
export async function runPod(c: Cluster, n: ClusterNode, name: string, i: number): Promise<CriPod> {
  c.kube.put(
    'pods',
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', uid: `uid-${i}-${process.pid}` },
      spec: { nodeName: n.name, containers: [{ name: 'app', image: 'pause' }] },
      status: { phase: 'Pending' },
    },
    'default',
  );
  const pod = await createPod(n.cri, name, i);
  const o = c.kube.api.store.get('/pods', 'default', name);
  c.kube.api.store.update(
    '/pods',
    'default',
    name,
    { ...o, status: { phase: 'Running', podIP: pod.ip, podIPs: [{ ip: pod.ip }] } },
    false,
  );
  return pod;
}

export async function removePod(c: Cluster, n: ClusterNode, pod: CriPod): Promise<void> {
  await deletePod(n.cri, pod);
  c.kube.api.store.delete('/pods', 'default', pod.name);
}
