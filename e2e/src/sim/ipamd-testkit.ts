// Test-only helpers for running ipamd in-process against the simulator: the SDK credentials the agent's EC2
// client reads from the environment, and the AddNetwork/DelNetwork requests aws-cni would send for a pod.
import { afterAll, beforeAll } from 'vitest';
import { AddNetworkRequest, DelNetworkRequest } from '@vpc-cni/shared/rpc';

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

/** The AddNetwork request of pod `p-<c>` in `default` with container id `c`. */
export const addRequest = (c: string, multiNic = false) =>
  AddNetworkRequest.fromPartial({
    ContainerID: c,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    K8S_POD_NAME: `p-${c}`,
    K8S_POD_NAMESPACE: 'default',
    K8S_POD_INFRA_CONTAINER_ID: c,
    RequiresMultiNICAttachment: multiNic,
  });

/** The DelNetwork request for the pod of `addRequest(c)`. */
export const delRequest = (c: string) =>
  DelNetworkRequest.fromPartial({
    ContainerID: c,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    K8S_POD_NAME: `p-${c}`,
    K8S_POD_NAMESPACE: 'default',
    K8S_POD_INFRA_CONTAINER_ID: c,
    Reason: 'PodDeleted',
  });
