// Every upstream awscni_* metric ipamd declares is updated where upstream updates it: each test provokes it
// against the simulated EC2 (or the Kubernetes stand-in) and reads it back from /metrics, as Prometheus and
// cni-metrics-helper do. (awscni_connmark_* need the kernel: packages/ipamd/test/host-setup.kernel.test.ts.)
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { type Agent, type StartOptions, startAgent } from '@vpc-cni/ipamd/agent';
import { KubeApiSim } from '../kube/index.js';
import { assignIpv4, createEni, unassignIpv4 } from './ops-eni.js';
import { attachEni, detachEni } from './ops-attach.js';
import type { Sim } from './sim.js';
import { SG_1, SUBNET_A, startSmall } from './testkit.js';
import {
  type IpamdWorld,
  addRequest,
  agentEnv,
  delRequest,
  ipamdWorld,
  stateDir,
  useSimulatorCredentials,
} from './ipamd-testkit.js';

useSimulatorCredentials();

let sim: Sim | undefined;
let kube: KubeApiSim | undefined;
let agent: Agent | undefined;
let client: RpcClient | undefined;
const dirs: string[] = [];
afterEach(async () => {
  client?.close();
  client = undefined;
  await agent?.stop();
  agent = undefined;
  await sim?.stop();
  sim = undefined;
  await kube?.stop();
  kube = undefined;
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const METRICS = {
  DISABLE_METRICS: 'false',
  VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
  CLUSTER_NAME: 'sim',
};

/** An m5.large on a fresh simulator (`opts`: its faults) with ipamd's metrics server on a free port. */
async function node(opts: Parameters<typeof startSmall>[0] = {}): Promise<IpamdWorld> {
  sim = await startSmall(opts);
  return ipamdWorld(sim, { type: 'm5.large', dirs, prefix: 'metrics', defaults: METRICS });
}

async function start(env: Record<string, string>, opts: StartOptions = {}): Promise<Agent> {
  agent = await startAgent(env, silentLogger, { hostNetworking: false, ...opts });
  client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}`, deadlineMs: 30_000 });
  return agent;
}

/** One sample from /metrics: `name{labels} value`; undefined when the series does not exist. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${agent!.metricsPort}/metrics`)).text();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function until(what: () => Promise<boolean>, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await what()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached');
}

describe('ipamd metrics on /metrics', () => {
  it('awscni_eni_max and awscni_ip_max: the instance limits less the ENIs ipamd must leave alone', async () => {
    const { sim: s, node: n, env } = await node();
    const other = createEni(s.world, {
      subnetId: SUBNET_A,
      groups: [SG_1],
      tags: { 'node.k8s.amazonaws.com/no_manage': 'true' },
    });
    await attachEni(s.world, { eniId: other.id, instanceId: n.instance.id, deviceIndex: 1 }, 0);
    await start(env());
    // m5.large: 3 ENIs of 10 IPv4 addresses (9 for pods); one ENI is tagged no_manage.
    expect(await metric('awscni_eni_max')).toBe(2);
    expect(await metric('awscni_ip_max')).toBe(18);
  });

  it('awscni_ipamd_node_initialization_duration_seconds and awscni_ipamd_action_inprogress around nodeInit and growth', async () => {
    const { sim: s, env } = await node();
    await start(env());
    expect(await metric('awscni_ipamd_node_initialization_duration_seconds_count', { success: 'true' })).toBe(
      1,
    );
    expect(await metric('awscni_ipamd_action_inprogress', { fn: 'nodeInit' })).toBe(0);
    // A growth round that waits on a slow CreateNetworkInterface is in progress until it ends.
    s.faults.update({ latencyNextMs: { CreateNetworkInterface: [1_500] } });
    const pods = Promise.all(
      Array.from({ length: 12 }, (_, i) => client!.call(CNIBackend.AddNetwork, addRequest(`c${i}`))),
    );
    await until(
      async () => (await metric('awscni_ipamd_action_inprogress', { fn: 'increaseDatastorePool' })) === 1,
    );
    await pods;
    await until(
      async () => (await metric('awscni_ipamd_action_inprogress', { fn: 'increaseDatastorePool' })) === 0,
    );
  });

  it('awscni_ipamd_error_count: failed address assignment and failed ENI creation, by upstream function name', async () => {
    const { env } = await node({
      faults: {
        deny: ['CreateNetworkInterface'],
        failNext: { AssignPrivateIpAddresses: [{ code: 'InvalidParameterValue', status: 400 }] },
      },
    });
    // 12 warm addresses: more than the primary ENI holds, so growth also creates an ENI.
    await start(env({ WARM_IP_TARGET: '12' }));
    await until(
      async () => ((await metric('awscni_ipamd_error_count', { fn: 'increaseIPPoolAllocENI' })) ?? 0) >= 1,
    );
    expect(await metric('awscni_ipamd_error_count', { fn: 'increaseIPPoolAllocIPAddressesFailed' })).toBe(1);
  });

  it('awscni_aws_utils_error_count: an ENI whose attach failed could not be deleted', async () => {
    const { env } = await node({
      faults: {
        deny: ['DeleteNetworkInterface'],
        failNext: { AttachNetworkInterface: [{ code: 'InvalidParameterValue', status: 400 }] },
      },
    });
    await start(env({ WARM_IP_TARGET: '12' }));
    const labels = { fn: 'AllocENIDeleteErr', error: 'UnauthorizedOperation' };
    await until(async () => (await metric('awscni_aws_utils_error_count', labels)) === 1);
  });

  it('awscni_reconcile_count and awscni_force_removed_enis/_ips: what reconcile corrected from EC2', async () => {
    const { sim: s, node: n, env } = await node();
    const a = await start(env({ WARM_IP_TARGET: '12' }));
    // Grow to two ENIs and put a pod on each.
    await until(async () => a.ds.eniList().length === 2);
    const second = a.ds.eniList().find((e) => !e.isPrimary)!.id;
    const pods: { ip: string; device: number }[] = [];
    for (let i = 0; pods.length < 12 && i < 12; i++) {
      const r = await client!.call(CNIBackend.AddNetwork, addRequest(`c${i}`));
      pods.push({ ip: r.IPAllocationMetadata[0]!.IPv4Addr, device: r.IPAllocationMetadata[0]!.DeviceNumber });
    }
    await a.manager!.stop(); // reconcile only when this test says so
    // Outside ipamd: one assigned address of the primary goes, one new one comes, the second ENI is detached,
    // and an ENI is attached.
    const primary = n.instance.primaryEniId;
    const onPrimary = pods.find((p) => p.device === 0)!.ip;
    unassignIpv4(s.world, primary, [onPrimary], []);
    assignIpv4(s.world, primary, { ips: ['10.0.1.200'] });
    const att = s.world.eni(second).attachment!.id;
    await detachEni(s.world, att, 0);
    const extra = createEni(s.world, { subnetId: SUBNET_A, groups: [SG_1], secondaryCount: 1 });
    await attachEni(s.world, { eniId: extra.id, instanceId: n.instance.id, deviceIndex: 2 }, 0);
    const onSecond = pods.filter((p) => p.device !== 0).length;
    await a.manager!.reconcile();
    expect(await metric('awscni_reconcile_count', { fn: 'eniIPPoolReconcileDel' })).toBe(1);
    expect(
      await metric('awscni_reconcile_count', { fn: 'eniDataStorePoolReconcileAdd' }),
    ).toBeGreaterThanOrEqual(1);
    expect(await metric('awscni_reconcile_count', { fn: 'eniReconcileDel' })).toBe(1);
    expect(await metric('awscni_reconcile_count', { fn: 'eniReconcileAdd' })).toBe(1);
    expect(await metric('awscni_force_removed_enis')).toBe(1);
    expect(await metric('awscni_force_removed_ips')).toBe(1 + onSecond);
    expect(await metric('awscni_ipamd_action_inprogress', { fn: 'nodeIPPoolReconcile' })).toBe(0);
  });

  it('awscni_pod_eni_error_count: the SecurityGroupsForPods feature could not be signalled', async () => {
    kube = await KubeApiSim.start();
    const env = agentEnv(stateDir(dirs, 'metrics'), METRICS);
    const kubeconfig = kube.writeKubeconfig(join(dirs[0]!, 'kubeconfig'));
    await kube.down(); // the API server is unreachable while ipamd starts
    await start({
      ...env,
      KUBECONFIG: kubeconfig,
      ENABLE_POD_ENI: 'true',
      MY_NODE_NAME: 'node-a',
      VPC_CNI_STATIC_ENIS: JSON.stringify([{ id: 'eni-0aa', deviceNumber: 0, ips: ['10.0.1.5'] }]),
    });
    expect(await metric('awscni_pod_eni_error_count', { fn: 'tryEnableSecurityGroupsForPods' })).toBe(1);
  });

  // Giving back: ENI deletes are retried (upstream's 12 attempts from 500 ms); the test shrinks the pacing only.
  const quickFree = { freeEni: { backoffScale: 0.001, settleMs: 0 } };

  /** 12 pods (the primary ENI holds 9, so a second ENI comes), then the pool loop stopped and every pod gone. */
  async function grownThenEmptied(env: Record<string, string>): Promise<Agent> {
    const a = await start(env, quickFree);
    for (let i = 0; i < 12; i++) await client!.call(CNIBackend.AddNetwork, addRequest(`c${i}`));
    expect(a.ds.eniList().length).toBe(2);
    await a.manager!.stop(); // the pool loop runs only when this test says so
    for (let i = 0; i < 12; i++) await client!.call(CNIBackend.DelNetwork, delRequest(`c${i}`));
    return a;
  }

  it('awscni_ipamd_error_count{decreaseIPPool}: EC2 refuses to take surplus addresses back', async () => {
    const { sim: s, env } = await node();
    const a = await grownThenEmptied(
      env({
        WARM_IP_TARGET: '2',
        IP_COOLDOWN_PERIOD: '0',
      }),
    );
    s.faults.update({
      failNext: { UnassignPrivateIpAddresses: [{ code: 'InvalidParameterValue', status: 400 }] },
    });
    const r = await a.manager!.tick();
    expect(r.gaveBack).toBeGreaterThan(0);
    expect(await metric('awscni_ipamd_error_count', { fn: 'decreaseIPPool' })).toBe(1);
  });

  it('awscni_aws_utils_error_count{FreeENIDeleteErr} and awscni_ipamd_error_count{decreaseIPPoolFreeENIFailed}: a surplus ENI EC2 will not delete', async () => {
    const { sim: s, env } = await node();
    // No warm ENI: once the pods are gone, the second ENI is surplus.
    const a = await grownThenEmptied(
      env({
        WARM_ENI_TARGET: '0',
        IP_COOLDOWN_PERIOD: '0',
      }),
    );
    const before = a.ds.eniList().map((e) => e.id);
    s.faults.update({ deny: ['DeleteNetworkInterface'] });
    // ENIs younger than 60 s are never freed: the clock (Date only; timers stay real) moves on a minute.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    const r = await a.manager!.tick().finally(() => vi.useRealTimers());
    // One surplus ENI is out of the pool and detached, but not deleted: the leaked-ENI sweep deletes it later.
    expect(r.freedEni).toBeUndefined();
    const after = a.ds.eniList().map((e) => e.id);
    const gone = before.filter((id) => !after.includes(id));
    expect(gone.length).toBe(1);
    expect(s.world.eni(gone[0]!).attachment).toBeUndefined();
    expect(
      await metric('awscni_aws_utils_error_count', {
        fn: 'FreeENIDeleteErr',
        error: 'UnauthorizedOperation',
      }),
    ).toBe(1);
    expect(await metric('awscni_ipamd_error_count', { fn: 'decreaseIPPoolFreeENIFailed' })).toBe(1);
  });

  it('awscni_ipamd_error_count{reconcileFailedGetENIs}: reconcile cannot describe the ENIs', async () => {
    const { sim: s, node: n, env } = await node();
    const a = await start(env());
    await a.manager!.stop();
    // An ENI attached outside ipamd: reconcile sees it in IMDS and must describe it in EC2, which is refused.
    const extra = createEni(s.world, { subnetId: SUBNET_A, groups: [SG_1], secondaryCount: 1 });
    await attachEni(s.world, { eniId: extra.id, instanceId: n.instance.id, deviceIndex: 2 }, 0);
    s.faults.update({ deny: ['DescribeNetworkInterfaces'] });
    await expect(a.manager!.reconcile()).rejects.toThrow();
    expect(await metric('awscni_ipamd_error_count', { fn: 'reconcileFailedGetENIs' })).toBe(1);
    s.faults.update({ deny: [] });
    await a.manager!.reconcile();
    expect(await metric('awscni_ipamd_error_count', { fn: 'reconcileFailedGetENIs' })).toBe(1);
  });

  it('awscni_aws_utils_error_count{cleanUpLeakedENIDeleteErr}: a leaked ENI EC2 will not delete', async () => {
    const { sim: s, env } = await node({ faults: { deny: ['DeleteNetworkInterface'] } });
    const leaked = createEni(s.world, {
      subnetId: SUBNET_A,
      groups: [SG_1],
      description: 'aws-K8S-i-0123456789abcdef0',
      tags: {
        'node.k8s.amazonaws.com/instance_id': 'i-0123456789abcdef0',
        'cluster.k8s.amazonaws.com/name': 'sim',
        'node.k8s.amazonaws.com/createdAt': new Date(Date.now() - 3_600_000).toISOString(),
      },
    });
    const a = await start(env({ DISABLE_LEAKED_ENI_CLEANUP: 'false' }), quickFree);
    await a.manager!.stop();
    const before =
      (await metric('awscni_aws_utils_error_count', {
        fn: 'cleanUpLeakedENIDeleteErr',
        error: 'UnauthorizedOperation',
      })) ?? 0;
    const r = await a.manager!.sweepLeakedEnis();
    expect(r.deleted).not.toContain(leaked.id);
    expect(
      await metric('awscni_aws_utils_error_count', {
        fn: 'cleanUpLeakedENIDeleteErr',
        error: 'UnauthorizedOperation',
      }),
    ).toBe(before + 1);
    expect(s.world.enis.has(leaked.id)).toBe(true);
  });

  it('awscni_ipamd_error_count{increaseIPPoolsetupENIFailed, eniReconcileAdd}: an attached ENI the host side cannot set up', async () => {
    // The host side (netlink; tested against the kernel in packages/ipamd/test) fails here by injection at its
    // seam: what is under test is that ipamd counts the failure and keeps the ENI out of the pool.
    let ups = 0;
    const plumbing = {
      up: () => {
        ups++;
        return Promise.reject(new Error('no link with this MAC appeared'));
      },
      down: () => Promise.resolve(),
    };
    const { sim: s, node: n, env } = await node();
    const a = await start(env({ WARM_IP_TARGET: '12' }), { plumbing });
    await until(
      async () =>
        ((await metric('awscni_ipamd_error_count', { fn: 'increaseIPPoolsetupENIFailed' })) ?? 0) >= 1,
    );
    await a.manager!.stop();
    expect(a.ds.eniList().length).toBe(1); // attached in EC2, not in the pool
    const attached = [...s.world.enis.values()].filter((e) => e.attachment?.instanceId === n.instance.id);
    expect(attached.length).toBe(2);
    const before = ups;
    await a.manager!.reconcile();
    expect(ups).toBe(before + 1);
    expect(await metric('awscni_ipamd_error_count', { fn: 'eniReconcileAdd' })).toBe(1);
    expect(a.ds.eniList().length).toBe(1);
  });
});
