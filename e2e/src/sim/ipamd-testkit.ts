// Test-only helpers for running ipamd in-process against the simulator: the SDK credentials the agent's EC2
// client reads from the environment, the agent's state directory and environment, and the AddNetwork/DelNetwork
// requests aws-cni would send for a pod.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { AddNetworkRequest, DelNetworkRequest } from '@vpc-cni/shared/rpc';
import type { Node, Sim } from './sim.js';
import { SG_1, SUBNET_A } from './testkit.js';

/** Sets the simulator's credentials in process.env for this file's tests and restores what was there after. */
export function useSimulatorCredentials(): void {
  const saved = { id: process.env['AWS_ACCESS_KEY_ID'], key: process.env['AWS_SECRET_ACCESS_KEY'] };
  beforeAll(() => {
    // The agent's EC2 client takes credentials from the process environment (SDK default chain).
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIASIMULATOR0000000';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'simulator-secret';
  });
  afterAll(() => {
    for (const [k, v] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.key],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

/**
 * The environment of an in-process ipamd whose socket and checkpoint are in `dir`: no introspection or metrics
 * server, no leaked-ENI sweep; then `extra` (which may turn any of them back on).
 */
export const agentEnv = (dir: string, extra: Record<string, string> = {}): Record<string, string> => ({
  VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
  AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
  DISABLE_INTROSPECTION: 'true',
  DISABLE_METRICS: 'true',
  DISABLE_LEAKED_ENI_CLEANUP: 'true',
  ...extra,
});

/** A fresh state directory `vct-<prefix>-*`, pushed on `dirs` (the caller removes them after each test). */
export function stateDir(dirs: string[], prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vct-${prefix}-`));
  dirs.push(dir);
  return dir;
}

export interface IpamdWorld {
  sim: Sim;
  node: Node;
  dir: string;
  /** The node's ipamd environment: its simulator endpoints, agentEnv(dir), `defaults`, then `extra`. */
  env: (extra?: Record<string, string>) => Record<string, string>;
}

/** One instance of `type` launched in SUBNET_A (group SG_1) on the started `sim`, with a state directory. */
export async function ipamdWorld(
  sim: Sim,
  o: { type: string; ipv6?: boolean; dirs: string[]; prefix: string; defaults?: Record<string, string> },
): Promise<IpamdWorld> {
  const node = await sim.launch({
    type: o.type,
    subnetId: SUBNET_A,
    groups: [SG_1],
    ...(o.ipv6 ? { ipv6: true } : {}),
  });
  const dir = stateDir(o.dirs, o.prefix);
  return {
    sim,
    node,
    dir,
    env: (extra = {}) => ({ ...sim.envFor(node.instance.id), ...agentEnv(dir, o.defaults), ...extra }),
  };
}

/** What aws-cni sends for pod `p-<c>` in `default` with container id `c`, in both requests. */
const podFields = (c: string) => ({
  ContainerID: c,
  IfName: 'eth0',
  NetworkName: 'aws-cni',
  K8S_POD_NAME: `p-${c}`,
  K8S_POD_NAMESPACE: 'default',
  K8S_POD_INFRA_CONTAINER_ID: c,
});

/** The AddNetwork request of pod `p-<c>` in `default` with container id `c`. */
export const addRequest = (c: string, multiNic = false) =>
  AddNetworkRequest.fromPartial({ ...podFields(c), RequiresMultiNICAttachment: multiNic });

/** The DelNetwork request for the pod of `addRequest(c)`. */
export const delRequest = (c: string) =>
  DelNetworkRequest.fromPartial({ ...podFields(c), Reason: 'PodDeleted' });
