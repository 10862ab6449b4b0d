// One simulated node for a scenario: simulator world, node netns with hot-plugged ENI links, the real ipamd in
// EC2 mode, and a private containerd calling the real aws-cni. `stop()` removes everything, also after a failure.
import { readDurableAllocations } from '@vpc-cni/ipamd/persistence';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CriClient, PrivateContainerd } from '../cri/index.js';
import { type CriPod, hostVethOf, startRuntime } from '../demo/cri-pods.js';
import { SimNode, linkHotplug } from '../node/index.js';
import { type LaunchSpec, type Node, Sim, type SimOptions } from '../sim/index.js';
import { SG_1, SUBNET_A, smallWorld } from '../sim/testkit.js';
import { addOwnedNetns } from '../harness/owner.js';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const AGENT = join(ROOT, 'dist/bin/aws-k8s-agent');
export const AWS_CNI = join(ROOT, 'dist/bin/aws-cni');
export const canRun = existsSync(AGENT) && existsSync(AWS_CNI) && existsSync('/usr/bin/containerd');

export interface ScenarioNode {
  sim: Sim;
  instance: Node;
  node: SimNode;
  cri: CriClient;
  nodeNs: string;
  /** Where the far ends of the node's ENI links are (`p<device>` on card 0, `p<card>c<device>` on card n). */
  parkNs: string;
  /** Allocations as ipamd persisted them: container id → address. */
  allocations(): Map<string, string>;
  stop(): Promise<void>;
}

export async function startScenarioNode(o: {
  type: string;
  env?: Record<string, string>;
  world?: Partial<SimOptions>;
  ipv6?: boolean;
  /** More interfaces attached at launch (e.g. an EFA-only device on a network card). */
  interfaces?: LaunchSpec['interfaces'];
  /**
   * An "internet" address behind eth0 that knows only the node's primary address (as an internet gateway maps
   * only the node's public IP): pods reach it only through ipamd's SNAT.
   */
  outsideIp?: string;
  /**
   * true (default): boot the node as the aws-node DaemonSet does (aws-vpc-cni-init, then the aws-vpc-cni entrypoint
   * which starts ipamd and writes the conflist containerd then uses). false: start aws-k8s-agent directly with a
   * conflist written by the test (crash tests kill the agent itself).
   */
  awsNode?: boolean;
}): Promise<ScenarioNode> {
  const tag = randomBytes(3).toString('hex');
  const nodeNs = `vct-scn-${tag}`;
  const parkNs = `vct-scnp-${tag}`;
  let sim: Sim | undefined;
  let node: SimNode | undefined;
  let containerd: PrivateContainerd | undefined;
  const stop = async () => {
    await containerd?.stop();
    await node?.stop();
    await sim?.stop();
    for (const ns of [nodeNs, parkNs]) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  };
  try {
    for (const ns of [nodeNs, parkNs]) addOwnedNetns(ns);
    sim = await Sim.start({ ...smallWorld(), faults: { attachDelayMs: 200 }, ...o.world });
    linkHotplug(sim, () => undefined, nodeNs, parkNs);
    const instance = await sim.launch({
      type: o.type,
      subnetId: SUBNET_A,
      groups: [SG_1],
      ...(o.ipv6 ? { ipv6: true } : {}),
      ...(o.interfaces ? { interfaces: o.interfaces } : {}),
    });
    if (o.outsideIp) {
      const primaryIp = sim.world.eni(instance.instance.primaryEniId).primaryIp;
      const ipn = (ns: string, ...a: string[]) => execFileSync('ip', ['-n', ns, ...a]);
      ipn(parkNs, 'addr', 'add', `${o.outsideIp}/32`, 'dev', 'p0');
      ipn(parkNs, 'link', 'set', 'p0', 'up');
      ipn(parkNs, 'route', 'add', `${primaryIp}/32`, 'dev', 'p0');
      ipn(nodeNs, 'route', 'add', `${o.outsideIp}/32`, 'dev', 'eth0');
    }
    node = new SimNode({ sim, node: instance, netns: nodeNs, agentBinary: AGENT, env: o.env ?? {} });
    const awsNode = o.awsNode ?? true;
    if (awsNode) await node.startAwsNode();
    else await node.startAgent();
    for (const k of ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'])
      execFileSync('ip', ['netns', 'exec', nodeNs, 'sysctl', '-q', '-w', k]);
    let cri: CriClient;
    if (awsNode) {
      containerd = new PrivateContainerd({
        nodeNs,
        cniBinDir: node.cniBinDir,
        cniConfDir: node.cniConfDir,
        cacheDir: join(ROOT, 'dist/cache'),
      });
      await containerd.start();
      cri = new CriClient(containerd.socket);
    } else {
      const rt = await startRuntime({
        nodeNs,
        workDir: node.dir,
        awsCni: AWS_CNI,
        ipamdSocket: node.socket,
        cacheDir: join(ROOT, 'dist/cache'),
      });
      containerd = rt.containerd;
      cri = rt.cri;
    }
    const checkpoint = node.checkpoint;
    return {
      sim,
      instance,
      node,
      cri,
      nodeNs,
      parkNs,
      // as ipamd's start reads them: the checkpoint file with its journal replayed
      allocations: () => new Map(readDurableAllocations(checkpoint).map((a) => [a.containerID, a.address])),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A pod's global addresses of one family per interface (`ip -j` leaves an empty entry for each address dropped). */
export function podAddrs(pid: number, family: 4 | 6 = 4): Record<string, string[]> {
  const links = JSON.parse(
    execFileSync(
      'nsenter',
      [`--net=/proc/${pid}/ns/net`, 'ip', '-j', `-${family}`, 'addr', 'show', 'scope', 'global'],
      {
        encoding: 'utf8',
      },
    ),
  ) as { ifname: string; addr_info: { local?: string }[] }[];
  return Object.fromEntries(
    links
      .map((l) => [l.ifname, l.addr_info.flatMap((a) => (a.local ? [a.local] : []))] as const)
      .filter(([, a]) => a.length > 0),
  );
}

/**
 * A pod annotated `k8s.amazonaws.com/nicConfig: multi-nic-attachment`, created over CRI as kubelet would, with its
 * global addresses of one family per interface (eth0, mNicIf1, ...). Delete it with `deletePod`.
 */
export async function multiNicPod(
  cri: CriClient,
  name: string,
  family: 4 | 6 = 4,
  namespace = 'default',
): Promise<CriPod & { addrs: Record<string, string[]> }> {
  const t0 = performance.now();
  const id = await cri.runPodSandbox({
    name,
    namespace,
    uid: `uid-${name}-${process.pid}`,
    annotations: { 'k8s.amazonaws.com/nicConfig': 'multi-nic-attachment' },
  });
  const ms = performance.now() - t0;
  const s = await cri.status(id);
  const hostVeth = hostVethOf(namespace, name);
  return { name, namespace, id, ip: s.ip, pid: s.pid, hostVeth, ms, addrs: podAddrs(s.pid, family) };
}

/** Frames a node sent out of one of its links (an ENI). */
export const txPackets = (netns: string, link: string): number =>
  (
    JSON.parse(execFileSync('ip', ['-n', netns, '-s', '-j', 'link', 'show', link], { encoding: 'utf8' })) as {
      stats64: { tx: { packets: number } };
    }[]
  )[0]!.stats64.tx.packets;

/**
 * Five pings from one of a pod's addresses (as a multi-homed application binds its socket to an address; the pod's
 * per-interface rule `from <address> lookup <i>` then picks the interface).
 */
export function pingFrom(pid: number, from: string, ip: string): boolean {
  try {
    execFileSync(
      'nsenter',
      [`--net=/proc/${pid}/ns/net`, 'ping', '-c', '5', '-i', '0.2', '-W', '1', '-I', from, ip],
      {
        stdio: 'ignore',
      },
    );
    return true;
  } catch {
    return false;
  }
}
