// Start a world from a description: the simulator, then each node; report endpoints and the environment an ipamd
// for each node needs. `stop()` tears everything down.
import { resolve } from 'node:path';
import { SimNode } from '../node/index.js';
import { Sim, realisticTiming } from '../sim/index.js';
import { VpcFabric } from '../vpc/index.js';
import type { WorldFile } from './world-file.js';

export interface RunningNode {
  name: string;
  instanceId: string;
  type: string;
  primaryIp: string;
  imdsUrl: string;
  env: Record<string, string>;
  /** With the fabric: the node's netns, and the env for an ipamd run inside it (IMDS at 169.254.169.254). */
  netns?: string;
  nodeEnv?: Record<string, string>;
}

export interface RunningWorld {
  sim: Sim;
  ec2Url: string;
  nodes: RunningNode[];
  stop(): Promise<void>;
}

export async function runWorld(
  w: WorldFile,
  opts: { ec2Port?: number; fabric?: boolean } = {},
): Promise<RunningWorld> {
  const sim = await Sim.start({
    vpc: w.vpc,
    subnets: w.subnets,
    ...(w.securityGroups ? { securityGroups: w.securityGroups } : {}),
    ...(w.timing === 'realistic' ? { faults: realisticTiming() } : {}),
    ...(opts.ec2Port !== undefined ? { ec2Port: opts.ec2Port } : {}),
  });
  const fabric = opts.fabric ? VpcFabric.create(sim) : undefined;
  const simNodes: SimNode[] = [];
  const stop = async () => {
    for (const n of simNodes) await n.stop();
    fabric?.destroy();
    await sim.stop();
  };
  try {
    const subnetIds = [...sim.world.subnets.keys()];
    const groupIds = [...sim.world.groups.keys()];
    const nodes: RunningNode[] = [];
    for (const n of w.nodes) {
      const subnetId = typeof n.subnet === 'string' ? n.subnet : subnetIds[n.subnet ?? 0]!;
      const node = await sim.launch({
        type: n.type,
        subnetId,
        groups: n.groups ?? groupIds.slice(0, 1),
        tags: { Name: n.name },
        ...(n.imdsLagMs !== undefined ? { imdsLagMs: n.imdsLagMs } : {}),
      });
      let inNode: Pick<RunningNode, 'netns' | 'nodeEnv'> = {};
      if (fabric) {
        const netns = fabric.nodeNetns(node.instance.id);
        const agentBinary = resolve(import.meta.dirname, '../../../dist/bin/aws-k8s-agent');
        const sn = new SimNode({ sim, node, netns, agentBinary });
        simNodes.push(sn);
        await sn.connect();
        inNode = { netns, nodeEnv: sn.agentEnv() };
      }
      nodes.push({
        name: n.name,
        instanceId: node.instance.id,
        type: n.type,
        primaryIp: sim.world.eni(node.instance.primaryEniId).primaryIp,
        imdsUrl: node.imdsUrl,
        env: sim.envFor(node.instance.id),
        ...inNode,
      });
    }
    return { sim, ec2Url: sim.ec2Url, nodes, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
