// Start a world from a description: the simulator, then each node; report endpoints and the environment an ipamd
// for each node needs. `stop()` tears everything down.
import { Sim, realisticTiming } from '../sim/index.js';
import type { WorldFile } from './world-file.js';

export interface RunningNode {
  name: string;
  instanceId: string;
  type: string;
  primaryIp: string;
  imdsUrl: string;
  env: Record<string, string>;
}

export interface RunningWorld {
  sim: Sim;
  ec2Url: string;
  nodes: RunningNode[];
  stop(): Promise<void>;
}

export async function runWorld(w: WorldFile, opts: { ec2Port?: number } = {}): Promise<RunningWorld> {
  const sim = await Sim.start({
    vpc: w.vpc,
    subnets: w.subnets,
    ...(w.securityGroups ? { securityGroups: w.securityGroups } : {}),
    ...(w.timing === 'realistic' ? { faults: realisticTiming() } : {}),
    ...(opts.ec2Port !== undefined ? { ec2Port: opts.ec2Port } : {}),
  });
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
      nodes.push({
        name: n.name,
        instanceId: node.instance.id,
        type: n.type,
        primaryIp: sim.world.eni(node.instance.primaryEniId).primaryIp,
        imdsUrl: node.imdsUrl,
        env: sim.envFor(node.instance.id),
      });
    }
    return { sim, ec2Url: sim.ec2Url, nodes, stop: () => sim.stop() };
  } catch (e) {
    await sim.stop();
    throw e;
  }
}
