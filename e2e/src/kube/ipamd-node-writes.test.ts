// ipamd's own writes to the Kubernetes stand-in, each behind its README variable: ANNOTATE_POD_IP (the pod's
// vpc.amazonaws.com/pod-ips annotation follows AddNetwork and DelNetwork), MY_POD_NAME (a MissingIAMPermissions
// Warning event naming the aws-node pod when EC2 refuses a call), and /v1/eni-configs (this node's ENIConfig).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { type Agent, startAgent } from '@vpc-cni/ipamd/agent';
import { KubeApiSim } from './index.js';
import type { Sim } from '../sim/sim.js';
import { SG_1, SUBNET_A, startSmall } from '../sim/testkit.js';

let kube: KubeApiSim | undefined;
let ec2: Sim | undefined;
let agent: Agent | undefined;
const dir = mkdtempSync(join(tmpdir(), 'vct-kube-writes-'));
const saved = { id: process.env['AWS_ACCESS_KEY_ID'], key: process.env['AWS_SECRET_ACCESS_KEY'] };
beforeAll(() => {
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIASIMULATOR0000000';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'simulator-secret';
});
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await kube?.stop();
  kube = undefined;
  await ec2?.stop();
  ec2 = undefined;
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of [
    ['AWS_ACCESS_KEY_ID', saved.id],
    ['AWS_SECRET_ACCESS_KEY', saved.key],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

let n = 0;
async function start(extra: Record<string, string>): Promise<Record<string, string>> {
  kube = await KubeApiSim.start();
  const sub = join(dir, String(n++));
  return {
    KUBECONFIG: kube.writeKubeconfig(join(dir, `kubeconfig-${n}`)),
    VPC_CNI_IPAMD_SOCKET: join(sub, 'ipamd.sock'),
    AWS_VPC_K8S_CNI_BACKING_STORE: join(sub, 'ipam.json'),
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
    DISABLE_METRICS: 'true',
    ...extra,
  };
}

const STATIC = JSON.stringify([{ id: 'eni-0aa', deviceNumber: 0, ips: ['10.0.1.5', '10.0.1.6'] }]);
const req = (pod: string, c: string) => ({
  ContainerID: c,
  IfName: 'eth0',
  NetworkName: 'aws-cni',
  K8S_POD_NAME: pod,
  K8S_POD_NAMESPACE: 'shop',
  K8S_POD_INFRA_CONTAINER_ID: c,
  Netns: '',
  ClientVersion: '',
  RequiresMultiNICAttachment: false,
  Reason: 'PodDeleted',
});

describe('ipamd writes to the API server', () => {
  it('ANNOTATE_POD_IP: vpc.amazonaws.com/pod-ips is set on AddNetwork and removed on DelNetwork', async () => {
    const env = await start({ VPC_CNI_STATIC_ENIS: STATIC, ANNOTATE_POD_IP: 'true' });
    kube!.put('pods', { metadata: { name: 'web', namespace: 'shop' } }, 'shop');
    kube!.put('pods', { metadata: { name: 'other', namespace: 'shop' } }, 'shop');
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    const client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}` });
    const annotations = (pod: string) =>
      (kube!.api.store.get('/pods', 'shop', pod).metadata['annotations'] ?? {}) as Record<string, string>;
    try {
      const r = await client.call(CNIBackend.AddNetwork, req('web', 'c1'));
      expect(annotations('web')['vpc.amazonaws.com/pod-ips']).toBe(r.IPAllocationMetadata[0]?.IPv4Addr);
      expect(annotations('other')['vpc.amazonaws.com/pod-ips']).toBeUndefined();
      await client.call(CNIBackend.DelNetwork, { ...req('web', 'c1'), K8S_POD_UID: '' });
      expect(annotations('web')['vpc.amazonaws.com/pod-ips']).toBeUndefined();
    } finally {
      client.close();
    }
  });

  it('ANNOTATE_POD_IP unset: pods are not patched', async () => {
    const env = await start({ VPC_CNI_STATIC_ENIS: STATIC });
    kube!.put('pods', { metadata: { name: 'web', namespace: 'shop' } }, 'shop');
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    const client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}` });
    try {
      await client.call(CNIBackend.AddNetwork, req('web', 'c1'));
    } finally {
      client.close();
    }
    expect(kube!.api.store.get('/pods', 'shop', 'web').metadata['annotations']).toBeUndefined();
  });

  it('MY_POD_NAME: EC2 refusing a call is a MissingIAMPermissions event on the aws-node pod', async () => {
    ec2 = await startSmall({ faults: { deny: ['AssignPrivateIpAddresses'] } });
    const node = await ec2.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    const env = await start({
      ...ec2.envFor(node.instance.id),
      MY_POD_NAME: 'aws-node-x7k2p',
      DISABLE_LEAKED_ENI_CLEANUP: 'true',
    });
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    const events = () =>
      kube!.api.store.list('/events', 'kube-system') as unknown as {
        involvedObject: { kind: string; name: string; namespace: string };
        reason: string;
        type: string;
        action?: string;
      }[];
    // Pre-scaling asked for addresses and was refused; the event is written in the background.
    for (let i = 0; i < 100 && events().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(events()).toEqual([
      expect.objectContaining({
        involvedObject: expect.objectContaining({
          kind: 'Pod',
          name: 'aws-node-x7k2p',
          namespace: 'kube-system',
        }),
        type: 'Warning',
        reason: 'MissingIAMPermissions',
        action: 'ec2:AssignPrivateIpAddresses',
      }),
    ]);
  });

  it('/v1/eni-configs answers the ENIConfig name of this node, 404 when the Node cannot be read', async () => {
    const env = await start({ VPC_CNI_STATIC_ENIS: STATIC, MY_NODE_NAME: 'node-a' });
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    const get = () => fetch(`http://127.0.0.1:${agent!.introspectionPort}/v1/eni-configs`);
    expect((await get()).status).toBe(404); // no such Node yet
    kube!.put('nodes', {
      metadata: { name: 'node-a', labels: { 'k8s.amazonaws.com/eniConfig': 'us-west-2a' } },
    });
    const r = await get();
    expect(r.status).toBe(200);
    expect(await r.json()).toBe('us-west-2a');
  });
});
