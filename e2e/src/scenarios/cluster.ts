// Several simulated nodes on one VPC fabric: the simulator, the fabric (node netns, router, outside), and per node
// the aws-node boot (init + entrypoint + ipamd in EC2 mode) and a private containerd. stop() removes everything.
import { readDurableAllocations } from '@vpc-cni/ipamd/persistence';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient, PrivateContainerd } from '../cri/index.js';
import { type CriPod, createPod, deletePod } from '../demo/cri-pods.js';
import { KubeApiSim } from '../kube/index.js';
import { SimNode } from '../node/index.js';
import { type Node, Sim, type SimOptions } from '../sim/index.js';
import { SG_1, SUBNET_A, smallWorld } from '../sim/testkit.js';
import { OUTSIDE_IP, VpcFabric } from '../vpc/index.js';
import { AGENT, ROOT } from './kit.js';
import { PolicyControllerProcess } from './policy-controller.js';
import { ownedTempDir, spawnOwned } from '../harness/owner.js';

export interface ClusterNode {
  name: string;
  instance: Node;
  /** The instance's primary private address (the Node's InternalIP, pods' hostIP). */
  ip: string;
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
  /** With the networkPolicy option: the cluster's network-policy-controller. */
  controller: PolicyControllerProcess | undefined;
  stop(): Promise<void>;
}

export async function startCluster(o: {
  /** `ipv6`: the instance gets an IPv6 address (the fabric configures it and routes it to OUTSIDE_IPV6). */
  nodes: { name: string; type: string; labels?: Record<string, string>; ipv6?: boolean }[];
  /** Objects created in the Kubernetes stand-in before the nodes boot (e.g. ENIConfigs). */
  eniConfigs?: { name: string; subnet: string; securityGroups?: string[] }[];
  env?: Record<string, string>;
  world?: Partial<SimOptions>;
  /** Run the aws-node pod from the built image through each node's containerd (node/image-pod.ts). */
  fromImage?: boolean;
  /**
   * Network policy enforced on every node (NETWORK_POLICY_ENFORCING_MODE): each node runs its
   * aws-network-policy-agent (node/policy-agent.ts) and the cluster one network-policy-controller.
   */
  networkPolicy?: 'standard' | 'strict';
}): Promise<Cluster> {
  if (o.networkPolicy && o.fromImage)
    throw new Error(
      'startCluster: networkPolicy runs the agent from dist/bin beside aws-node; it is not wired for fromImage yet',
    );
  const sim = await Sim.start({ ...smallWorld(), faults: { attachDelayMs: 200 }, ...o.world });
  const fabric = VpcFabric.create(sim);
  const kube = await KubeApiSim.start();
  const nodes: ClusterNode[] = [];
  const dir = ownedTempDir('vct-cluster-');
  let controller: PolicyControllerProcess | undefined;
  const stop = async () => {
    await controller?.stop();
    // The pods of every node go at once (each containerd tears its own down, kubelet-like, a few at a time);
    // then each node's processes, one node after another (a containerd's stop also sweeps pod netns left over).
    await Promise.all(
      nodes.map(async (n) => {
        await n.node.imagePod?.stop(); // before its containerd goes
        await n.containerd.removeSandboxes();
      }),
    );
    for (const n of nodes) {
      n.cri.close();
      await n.containerd.stop();
      await n.node.stop();
    }
    fabric.destroy();
    await kube.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const subnetId = o.world?.subnets?.[0]?.id ?? SUBNET_A;
    kube.put('namespaces', { metadata: { name: 'default' } });
    if (o.networkPolicy) {
      kube.put('namespaces', { metadata: { name: 'kube-system' } });
      controller = new PolicyControllerProcess({
        binary: join(ROOT, 'dist/bin/network-policy-controller'),
        kube,
        dir,
      });
      await controller.start();
    }
    for (const e of o.eniConfigs ?? [])
      kube.put('crd.k8s.amazonaws.com/eniconfigs', {
        apiVersion: 'crd.k8s.amazonaws.com/v1alpha1',
        kind: 'ENIConfig',
        metadata: { name: e.name },
        spec: { subnet: e.subnet, securityGroups: e.securityGroups ?? [] },
      });
    // Instances launched and Node objects written one after another (addresses in the order of o.nodes), then
    // the nodes boot concurrently, as a cluster's nodes do: each one's boot mostly waits (for the simulator, for
    // its processes), so the other's work fills that time.
    const prepared: { spec: (typeof o.nodes)[number]; instance: Node; netns: string; node: SimNode }[] = [];
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
        ...(o.networkPolicy ? { networkPolicy: o.networkPolicy } : {}),
      });
      prepared.push({ spec, instance, netns, node });
    }
    const boot = async ({ spec, instance, netns, node }: (typeof prepared)[number]): Promise<ClusterNode> => {
      if (!o.fromImage)
        await node.startAwsNode().catch(async (e: unknown) => {
          await node.stop(); // this node is not in `nodes` yet
          throw e;
        });
      const containerd = new PrivateContainerd({
        nodeNs: netns,
        cniBinDir: node.cniBinDir,
        cniConfDir: node.cniConfDir,
        cacheDir: join(ROOT, 'dist/cache'),
      });
      try {
        await containerd.start();
        if (o.fromImage) await node.startAwsNodeFromImage(containerd.socket, `aws-node-${spec.name}`);
      } catch (e) {
        await containerd.stop(); // this node is not in `nodes` yet
        await node.stop();
        throw e;
      }
      execFileSync('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      const checkpoint = node.checkpoint;
      return {
        name: spec.name,
        instance,
        ip: sim.world.eni(instance.instance.primaryEniId).primaryIp,
        node,
        netns,
        cri: new CriClient(containerd.socket),
        containerd,
        // as ipamd's start reads them: the checkpoint file with its journal replayed
        allocations: () => new Map(readDurableAllocations(checkpoint).map((a) => [a.containerID, a.address])),
      };
    };
    const booted = await Promise.allSettled(prepared.map(boot));
    for (const b of booted) if (b.status === 'fulfilled') nodes.push(b.value);
    const failed = booted.find((b) => b.status === 'rejected');
    if (failed) throw failed.reason;
    return { sim, fabric, kube, nodes, outsideIp: OUTSIDE_IP, controller, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** As the scheduler and kubelet do: the Pod object bound to the node, then its sandbox over CRI. */
export async function runPod(
  c: Cluster,
  n: ClusterNode,
  name: string,
  i: number,
  meta: { namespace?: string; labels?: Record<string, string> } = {},
): Promise<CriPod> {
  const namespace = meta.namespace ?? 'default';
  c.kube.put(
    'pods',
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, uid: `uid-${i}-${process.pid}`, labels: meta.labels ?? {} },
      spec: { nodeName: n.name, containers: [{ name: 'app', image: 'pause' }] },
      status: { phase: 'Pending' },
    },
    namespace,
  );
  const pod = await createPod(n.cri, name, i, namespace);
  const o = c.kube.api.store.get('/pods', namespace, name);
  // In an IPv6 cluster the node's InternalIP, hence a pod's hostIP, is the instance's IPv6 address.
  const hostIP = pod.ip.includes(':')
    ? (c.sim.world.eni(n.instance.instance.primaryEniId).ipv6Addresses[0] ?? n.ip)
    : n.ip;
  c.kube.api.store.update(
    '/pods',
    namespace,
    name,
    { ...o, status: { phase: 'Running', hostIP, podIP: pod.ip, podIPs: [{ ip: pod.ip }] } },
    false,
  );
  return pod;
}

export async function removePod(c: Cluster, n: ClusterNode, pod: CriPod): Promise<void> {
  await deletePod(n.cri, pod);
  c.kube.api.store.delete('/pods', pod.namespace, pod.name);
}

/**
 * The source address the outside sees for one TCP connection from the pod (pause pid `podPid`): a one-shot server
 * in the outside netns, dialled once it says it listens (not after a fixed pause, which a loaded machine outlasts).
 */
export async function sourceSeenOutside(c: Cluster, podPid: number, port = 8099): Promise<string> {
  const server = spawnOwned(
    'ip',
    [
      'netns',
      'exec',
      c.fabric.outsideNs,
      process.execPath,
      '-e',
      `require('net').createServer((k)=>{k.end();process.stdout.write('from '+k.remoteAddress+'\\n',()=>process.exit(0))}).listen(${port},()=>process.stdout.write('listening\\n'));setTimeout(()=>process.exit(1),30000)`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const exited = new Promise<number | null>((r) => server.once('exit', r));
  const listening = new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('listening\n')) resolve();
    });
    void exited.then(() => reject(new Error(`the outside server exited before listening: ${out}`)));
  });
  try {
    await listening;
    await promisify(execFile)('nsenter', [
      `--net=/proc/${podPid}/ns/net`,
      process.execPath,
      '-e',
      `require('net').connect(${port},'${c.outsideIp}').on('error',()=>process.exit(1)).on('close',()=>process.exit(0))`,
    ]).catch(() => undefined);
    await exited;
  } finally {
    server.kill('SIGKILL');
  }
  return /from (\S+)/.exec(out)?.[1]?.replace('::ffff:', '') ?? '';
}
