// Shared by the security-groups-for-pods tests: the world they run in (EC2 simulator, API stand-in, one
// m5.large node in its own netns running the real aws-k8s-agent), the AddNetwork request kubelet's ADD turns
// into, and the branch ENI recorded in a pod's vpc.amazonaws.com/pod-eni annotation (as the stand-in holds it).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { AddNetworkRequest } from '@vpc-cni/shared/rpc';
import { KubeApiSim } from '../kube/index.js';
import { Sim, type SimOptions } from '../sim/index.js';
import { SG_1, SUBNET_A, sdkClient, smallWorld } from '../sim/testkit.js';
import { SimNode, linkHotplug } from './index.js';
import { addOwnedNetns } from '../harness/owner.js';

const AGENT = resolve(import.meta.dirname, '../../../dist/bin/aws-k8s-agent');

export interface PodEniWorld {
  sim: Sim;
  kube: KubeApiSim;
  node: SimNode;
  ec2: EC2Client;
  nodeNs: string;
  /** Stops everything and deletes the netns, whatever was started. */
  stop(): Promise<void>;
}

/**
 * Node `node-a` (labels as given) in a fresh node netns, its ENIs hot-plugged there; `seed` fills the API
 * stand-in before the instance is launched. The agent is not started (tests call node.startAgent()).
 */
export async function podEniWorld(o: {
  name: string;
  env: Record<string, string>;
  world?: Partial<SimOptions>;
  nodeLabels?: Record<string, string>;
  seed?: (kube: KubeApiSim) => void;
}): Promise<PodEniWorld> {
  const tag = randomBytes(3).toString('hex');
  const namespaces = [`vct-${o.name}n-${tag}`, `vct-${o.name}v-${tag}`];
  const w: Partial<PodEniWorld> = {};
  const stop = async () => {
    w.ec2?.destroy();
    await w.node?.stop();
    await w.sim?.stop();
    await w.kube?.stop();
    for (const ns of namespaces) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  };
  try {
    for (const ns of namespaces) addOwnedNetns(ns);
    w.sim = await Sim.start(smallWorld(o.world));
    w.ec2 = sdkClient(w.sim, 3);
    linkHotplug(w.sim, () => undefined, namespaces[0]!, namespaces[1]!);
    w.kube = await KubeApiSim.start();
    w.kube.put('nodes', { metadata: { name: 'node-a', ...(o.nodeLabels ? { labels: o.nodeLabels } : {}) } });
    o.seed?.(w.kube);
    const n = await w.sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    w.node = new SimNode({
      sim: w.sim,
      node: n,
      netns: namespaces[0]!,
      agentBinary: AGENT,
      kube: { sim: w.kube, nodeName: 'node-a' },
      env: o.env,
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { ...(w as Omit<PodEniWorld, 'stop' | 'nodeNs'>), nodeNs: namespaces[0]!, stop };
}

export function addRequest(name: string, namespace: string, containerId = `c-${name}`): AddNetworkRequest {
  return {
    ContainerID: containerId,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    K8S_POD_NAME: name,
    K8S_POD_NAMESPACE: namespace,
    K8S_POD_INFRA_CONTAINER_ID: containerId,
    Netns: '',
    ClientVersion: '',
    RequiresMultiNICAttachment: false,
  };
}

export interface PodEniEntry {
  eniId: string;
  vlanId: number;
  ifAddress: string;
  privateIp: string;
}

/** The pod's pod-eni annotation, parsed; undefined when it has none. */
export function podEniOf(kube: KubeApiSim, namespace: string, name: string): PodEniEntry[] | undefined {
  const annotations = kube.api.store.get('/pods', namespace, name).metadata['annotations'] as
    Record<string, string> | undefined;
  const raw = annotations?.['vpc.amazonaws.com/pod-eni'];
  return raw === undefined ? undefined : (JSON.parse(raw) as PodEniEntry[]);
}
