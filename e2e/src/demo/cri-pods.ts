// Pods for the demo, created the way kubelet creates them: over CRI, by a private containerd in the node netns,
// which calls the real aws-cni from its CNI bin dir with the conflist below.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient, PrivateContainerd } from '../cri/index.js';

export interface CriPod {
  name: string;
  namespace: string;
  id: string;
  ip: string;
  /** pause process: /proc/<pid>/ns/net is the pod's netns. */
  pid: number;
  hostVeth: string;
  ms: number;
}

/** The host veth aws-cni derives for a pod (prefix + first 11 hex of SHA-1 of "namespace.name"). */
export const hostVethOf = (namespace: string, name: string): string =>
  `eni${createHash('sha1').update(`${namespace}.${name}`).digest('hex').slice(0, 11)}`;

export async function startRuntime(o: {
  nodeNs: string;
  workDir: string;
  awsCni: string;
  ipamdSocket: string;
  cacheDir: string;
  /** Fields merged into the aws-cni plugin entry of the conflist (bad-input scenarios). */
  pluginOverrides?: Record<string, unknown>;
}): Promise<{ containerd: PrivateContainerd; cri: CriClient }> {
  const binDir = join(o.workDir, 'cni-bin');
  const confDir = join(o.workDir, 'cni-conf');
  mkdirSync(binDir, { recursive: true });
  mkdirSync(confDir, { recursive: true });
  copyFileSync(o.awsCni, join(binDir, 'aws-cni'));
  for (const p of ['loopback', 'portmap']) copyFileSync(join('/usr/lib/cni', p), join(binDir, p));
  writeFileSync(
    join(confDir, '10-aws.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'aws-cni',
      plugins: [
        {
          name: 'aws-cni',
          type: 'aws-cni',
          vethPrefix: 'eni',
          mtu: '9001',
          podSGEnforcingMode: 'strict',
          pluginLogFile: join(o.workDir, 'plugin.log'),
          pluginLogLevel: 'Debug',
          ipamdEndpoint: `unix://${o.ipamdSocket}`,
          capabilities: { 'io.kubernetes.cri.pod-annotations': true },
          ...o.pluginOverrides,
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    }),
  );
  const containerd = new PrivateContainerd({
    nodeNs: o.nodeNs,
    cniBinDir: binDir,
    cniConfDir: confDir,
    cacheDir: o.cacheDir,
  });
  await containerd.start();
  return { containerd, cri: new CriClient(containerd.socket) };
}

export async function createPod(
  cri: CriClient,
  name: string,
  i: number,
  namespace = 'default',
): Promise<CriPod> {
  const t0 = performance.now();
  const id = await cri.runPodSandbox({ name, namespace, uid: `uid-${i}-${process.pid}` });
  const ms = performance.now() - t0;
  const s = await cri.status(id);
  return { name, namespace, id, ip: s.ip, pid: s.pid, hostVeth: hostVethOf(namespace, name), ms };
}

/** As kubelet tears a pod down: StopPodSandbox (CNI DEL with the netns), RemovePodSandbox (DEL, empty CNI_NETNS). */
export async function deletePod(cri: CriClient, pod: CriPod): Promise<void> {
  await cri.stopPodSandbox(pod.id);
  await cri.removePodSandbox(pod.id);
}

/**
 * `fn` over every item, at most `limit` at a time, results in item order: kubelet's pod workers start and stop a
 * node's pods a few at a time, and a slow one does not hold the others back (a pool, not waves).
 */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Deletes pods as kubelet does, four at a time (deletePod each). */
export async function deletePods(cri: CriClient, pods: readonly CriPod[]): Promise<void> {
  await inParallel(pods, 4, (p) => deletePod(cri, p));
}

export function podCanPing(pod: CriPod, ip: string): boolean {
  const ping = (args: string[]) => {
    try {
      execFileSync('nsenter', [`--net=/proc/${pod.pid}/ns/net`, 'ping', ...args, ip], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  // One quick echo; if it is lost (neighbour discovery, IPv6 DAD on a fresh address), three more 0.2 s apart.
  return ping(['-c', '1', '-W', '1']) || ping(['-c', '3', '-i', '0.2', '-W', '1']);
}
