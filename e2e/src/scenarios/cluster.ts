// Several simulated nodes on one VPC fabric: the simulator, the fabric (node netns, router, outside), and per node
// the aws-node boot (init + entrypoint + ipamd in EC2 mode) and a private containerd. stop() removes everything.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient, PrivateContainerd } from '../cri/index.js';
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
  nodes: ClusterNode[];
  outsideIp: string;
  stop(): Promise<void>;
}

export async function startCluster(o: {
  nodes: { name: string; type: string }[];
  env?: Record<string, string>;
  world?: Partial<SimOptions>;
}): Promise<Cluster> {
  const sim = await Sim.start({ ...smallWorld(), faults: { attachDelayMs: 200 }, ...o.world });
  const fabric = VpcFabric.create(sim);
  const nodes: ClusterNode[] = [];
  const stop = async () => {
    for (const n of nodes) {
      n.cri.close();
      await n.containerd.stop();
      await n.node.stop();
    }
    fabric.destroy();
    await sim.stop();
  };
  try {
    const subnetId = o.world?.subnets?.[0]?.id ?? SUBNET_A;
    for (const spec of o.nodes) {
      const instance = await sim.launch({
        type: spec.type,
        subnetId,
        groups: [SG_1],
        tags: { Name: spec.name },
      });
      const netns = fabric.nodeNetns(instance.instance.id);
      const node = new SimNode({ sim, node: instance, netns, agentBinary: AGENT, env: o.env ?? {} });
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
    return { sim, fabric, nodes, outsideIp: OUTSIDE_IP, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
