// What the rpc benchmark's rounds share (bench/src/rpc.ts): the CNI request, percentiles, a process's CPU time,
// waiting for a server to serve, and a saturated run of Add+Del pairs.
import { readFileSync } from 'node:fs';
import { CNIBackend, RpcClient, isServing } from '@vpc-cni/shared/rpc';

/** Clients always in flight in a saturated run. */
export const CLIENTS = 64;

export const req = (c: string) => ({
  ContainerID: c,
  IfName: 'eth0',
  NetworkName: 'aws-cni',
  K8S_POD_NAME: c,
  K8S_POD_NAMESPACE: 'bench',
  K8S_POD_INFRA_CONTAINER_ID: c,
  Netns: '',
  ClientVersion: '',
  RequiresMultiNICAttachment: false,
});

export const delReq = (c: string) => ({ ...req(c), Reason: 'PodDeleted', K8S_POD_UID: '' });

export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN).toFixed(3));
};

/** CPU seconds a process has used so far (user + system, from /proc). */
export function cpuSeconds(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

/** Waits until the server on `path` reports grpc.health.v1.aws-node SERVING. */
export async function serving(path: string, what: string): Promise<void> {
  for (let i = 0; !(await isServing(`unix://${path}`, 500)); i++) {
    if (i > 400) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `pairs` Add+Del pairs from CLIENTS clients always in flight; each call's latency. */
export async function saturate(path: string, pairs: number, prefix: string) {
  const adds: number[] = [];
  const dels: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const c = new RpcClient({ endpoint: `unix://${path}`, deadlineMs: 10_000 });
      for (let n = next++; n < pairs; n = next++) {
        const id = `${prefix}-${n}`;
        let t = performance.now();
        await c.call(CNIBackend.AddNetwork, req(id));
        adds.push(performance.now() - t);
        t = performance.now();
        await c.call(CNIBackend.DelNetwork, delReq(id));
        dels.push(performance.now() - t);
      }
      c.close();
    }),
  );
  return { adds, dels };
}
