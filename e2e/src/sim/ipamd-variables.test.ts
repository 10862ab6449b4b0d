// Each EC2-facing ipamd variable of the README table, shown by its effect on the simulated EC2 (README
// "Configuration"): ADDITIONAL_ENI_TAGS, VPC_CNI_VERSION, HTTP_TIMEOUT, ENABLE_IMDS_ONLY_MODE,
// MANAGE_UNTAGGED_ENI. The agent runs in-process against the simulator (no host networking).
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { type Agent, startAgent } from '@vpc-cni/ipamd/agent';
import { assignIpv4, createEni } from './ops-eni.js';
import { attachEni } from './ops-attach.js';
import type { Sim } from './sim.js';
import { SG_1, SUBNET_A, startSmall } from './testkit.js';
import { type IpamdWorld, addRequest, ipamdWorld, useSimulatorCredentials } from './ipamd-testkit.js';

useSimulatorCredentials();

let sim: Sim | undefined;
let agent: Agent | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await sim?.stop();
  sim = undefined;
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function world(): Promise<IpamdWorld> {
  sim = await startSmall();
  return ipamdWorld(sim, { type: 'm5.large', dirs, prefix: 'vars', defaults: { CLUSTER_NAME: 'sim' } });
}

describe('ipamd variables against the simulated EC2', () => {
  it('ADDITIONAL_ENI_TAGS: the ENIs ipamd creates carry the extra tags, never ones that would override ours', async () => {
    const w = await world();
    // 12 warm addresses need a second ENI on an m5.large (9 per ENI).
    agent = await startAgent(
      w.env({
        WARM_IP_TARGET: '12',
        ADDITIONAL_ENI_TAGS:
          '{"team":"net","cost-center":"42","node.k8s.amazonaws.com/instance_id":"i-forged"}',
      }),
      silentLogger,
      { hostNetworking: false },
    );
    // Pre-scaling fills the primary ENI; the pool manager's next rounds add the second ENI.
    const created = () =>
      w.sim.world.enisOf(w.node.instance.id).filter((e) => e.id !== w.node.instance.primaryEniId);
    for (let i = 0; i < 200 && created().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(created()).toHaveLength(1);
    const tags = Object.fromEntries(created()[0]!.tags);
    expect(tags).toMatchObject({
      team: 'net',
      'cost-center': '42',
      'node.k8s.amazonaws.com/instance_id': w.node.instance.id,
      'cluster.k8s.amazonaws.com/name': 'sim',
    });
  });

  it('VPC_CNI_VERSION: every EC2 call carries the amazon-vpc-cni-k8s/<version> User-Agent', async () => {
    const w = await world();
    agent = await startAgent(w.env({ VPC_CNI_VERSION: 'v1.23.1-test' }), silentLogger, {
      hostNetworking: false,
    });
    const calls = w.sim.faults.calls;
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) expect(c.userAgent).toContain('amazon-vpc-cni-k8s/v1.23.1-test');
  });

  it('HTTP_TIMEOUT: a call EC2 does not answer is abandoned after the timeout and retried', async () => {
    const w = await world();
    // The first DescribeNetworkInterfaces would take 10 minutes; the test's own timeout is far shorter.
    w.sim.faults.update({ latencyNextMs: { DescribeNetworkInterfaces: [600_000] } });
    agent = await startAgent(w.env({ HTTP_TIMEOUT: '10' }), silentLogger, { hostNetworking: false });
    const dni = w.sim.faults.calls.filter((c) => c.action === 'DescribeNetworkInterfaces');
    expect(dni.map((c) => c.outcome)).toEqual(['CallerGone', 'OK']);
    expect(agent.ds.eniList().map((e) => e.id)).toEqual([w.node.instance.primaryEniId]);
  }, 60_000);

  it('ENABLE_IMDS_ONLY_MODE: pods get the addresses IMDS lists and ipamd makes no EC2 call at all', async () => {
    const w = await world();
    const { ips } = assignIpv4(w.sim.world, w.node.instance.primaryEniId, { count: 3 });
    const second = createEni(w.sim.world, { subnetId: SUBNET_A, groups: [SG_1], secondaryCount: 2 });
    await attachEni(w.sim.world, { eniId: second.id, instanceId: w.node.instance.id, deviceIndex: 1 }, 0);
    w.sim.faults.resetCalls();
    const env = w.env({ ENABLE_IMDS_ONLY_MODE: 'true', VPC_CNI_ADD_WAIT_SECONDS: '0' });
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    const client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}` });
    try {
      const got: string[] = [];
      for (let i = 0; i < 5; i++)
        got.push(
          (await client.call(CNIBackend.AddNetwork, addRequest(`c${i}`))).IPAllocationMetadata[0]!.IPv4Addr,
        );
      expect(new Set(got)).toEqual(new Set([...ips, ...second.secondaryIps]));
      // The pool is what IMDS showed: the sixth pod gets no address, and EC2 is not asked for one.
      await expect(client.call(CNIBackend.AddNetwork, addRequest('c5'))).rejects.toThrow(
        /RESOURCE_EXHAUSTED/,
      );
    } finally {
      client.close();
    }
    expect(agent.manager).toBeUndefined();
    expect(w.sim.faults.calls).toEqual([]);
  });

  it('MANAGE_UNTAGGED_ENI=false: an attached ENI without our tags is neither used nor changed; true adopts it', async () => {
    const w = await world();
    const untagged = createEni(w.sim.world, { subnetId: SUBNET_A, groups: [SG_1], secondaryCount: 2 });
    await attachEni(w.sim.world, { eniId: untagged.id, instanceId: w.node.instance.id, deviceIndex: 1 }, 0);
    const before = [...untagged.secondaryIps];
    const env = w.env({ MANAGE_UNTAGGED_ENI: 'false', WARM_IP_TARGET: '20' });
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    await agent.manager!.reconcile();
    expect(agent.ds.eniList().map((e) => e.id)).not.toContain(untagged.id);
    // Growth went to the primary and a new ENI (device 2), never to the untagged one.
    expect(w.sim.world.eni(untagged.id).secondaryIps).toEqual(before);
    const touched = w.sim.faults.calls.filter((c) => Object.values(c.params).includes(untagged.id));
    expect(touched.filter((c) => c.action !== 'DescribeNetworkInterfaces')).toEqual([]);
    await agent.stop();

    agent = await startAgent({ ...env, MANAGE_UNTAGGED_ENI: 'true' }, silentLogger, {
      hostNetworking: false,
    });
    expect(agent.ds.eniList().map((e) => e.id)).toContain(untagged.id);
  });
});
