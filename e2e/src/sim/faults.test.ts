// Timing and faults: delayed attach/detach completion through the hot-plug hooks, injected errors, token-bucket
// refill on the simulator clock, the call log and the admin HTTP API.
import * as E from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import type { Eni, Instance } from './types.js';
import type { Sim } from './sim.js';
import { SG_1, SUBNET_A, sdkClient, startSmall } from './testkit.js';

let sim: Sim | undefined;
let ec2: E.EC2Client | undefined;
afterEach(async () => {
  ec2?.destroy();
  await sim?.stop();
});

async function setup(opts: Parameters<typeof startSmall>[0] = {}) {
  sim = await startSmall(opts);
  ec2 = sdkClient(sim);
  const node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
  return { sim, ec2, node };
}

const eniStatus = async (c: E.EC2Client, id: string) =>
  (await c.send(new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] })))
    .NetworkInterfaces![0]!;

describe('attach/detach completion and hooks', () => {
  it('an attach stays `attaching` until the onAttach hook resolves; detach runs onDetach', async () => {
    const { sim, ec2, node } = await setup({ faults: { attachDelayMs: 1, detachDelayMs: 1 } });
    const seen: [string, string][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    sim.onAttach(async (eni: Eni, inst: Instance) => {
      seen.push(['attach', `${eni.mac}@${inst.id}`]);
      await gate;
    });
    let releaseDetach!: () => void;
    const detachGate = new Promise<void>((r) => (releaseDetach = r));
    sim.onDetach(async (eni, inst) => {
      seen.push(['detach', `${eni.mac}@${inst.id}`]);
      await detachGate;
    });
    const ni = (await ec2.send(new E.CreateNetworkInterfaceCommand({ SubnetId: SUBNET_A })))
      .NetworkInterface!;
    const att = await ec2.send(
      new E.AttachNetworkInterfaceCommand({
        NetworkInterfaceId: ni.NetworkInterfaceId,
        InstanceId: node.instance.id,
        DeviceIndex: 1,
      }),
    );
    expect((await eniStatus(ec2, ni.NetworkInterfaceId!)).Attachment?.Status).toBe('attaching');
    await expect.poll(() => seen.length).toBe(1);
    expect((await eniStatus(ec2, ni.NetworkInterfaceId!)).Attachment?.Status).toBe('attaching');
    release();
    await sim.settle();
    expect((await eniStatus(ec2, ni.NetworkInterfaceId!)).Attachment?.Status).toBe('attached');
    await ec2.send(new E.DetachNetworkInterfaceCommand({ AttachmentId: att.AttachmentId }));
    expect((await eniStatus(ec2, ni.NetworkInterfaceId!)).Attachment?.Status).toBe('detaching');
    const del = ec2.send(new E.DeleteNetworkInterfaceCommand({ NetworkInterfaceId: ni.NetworkInterfaceId }));
    await expect(del).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    releaseDetach();
    await sim.settle();
    expect(seen).toEqual([
      ['attach', `${ni.MacAddress}@${node.instance.id}`],
      ['detach', `${ni.MacAddress}@${node.instance.id}`],
    ]);
    expect((await eniStatus(ec2, ni.NetworkInterfaceId!)).Status).toBe('available');
  });

  it('a hook that throws is recorded and the attach still completes', async () => {
    const { sim, ec2, node } = await setup();
    sim.onAttach(() => {
      throw new Error('hot-plug failed');
    });
    const ni = (await ec2.send(new E.CreateNetworkInterfaceCommand({ SubnetId: SUBNET_A })))
      .NetworkInterface!;
    await ec2.send(
      new E.AttachNetworkInterfaceCommand({
        NetworkInterfaceId: ni.NetworkInterfaceId,
        InstanceId: node.instance.id,
        DeviceIndex: 1,
      }),
    );
    expect((await eniStatus(ec2, ni.NetworkInterfaceId!)).Attachment?.Status).toBe('attached');
    expect(sim.world.hookErrors.map((e) => (e as Error).message)).toEqual(['hot-plug failed']);
  });
});

describe('injected faults', () => {
  it('failNext returns queued errors in order, then the action works again', async () => {
    const { sim, ec2 } = await setup();
    sim.faults.update({
      failNext: {
        DescribeSubnets: [
          { code: 'InternalError', status: 500 },
          { code: 'Unavailable', status: 503 },
        ],
      },
    });
    await expect(ec2.send(new E.DescribeSubnetsCommand({}))).rejects.toMatchObject({
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    });
    await expect(ec2.send(new E.DescribeSubnetsCommand({}))).rejects.toMatchObject({ name: 'Unavailable' });
    expect((await ec2.send(new E.DescribeSubnetsCommand({}))).Subnets!.length).toBeGreaterThan(0);
  });

  it('errorRate uses the injected random source', async () => {
    const draws = [0.1, 0.9];
    const { sim, ec2 } = await setup({ random: () => draws.shift() ?? 0.9 });
    sim.faults.update({
      errorRate: { DescribeSecurityGroups: { rate: 0.5, code: 'ServiceUnavailable', status: 503 } },
    });
    await expect(ec2.send(new E.DescribeSecurityGroupsCommand({}))).rejects.toMatchObject({
      name: 'ServiceUnavailable',
    });
    expect((await ec2.send(new E.DescribeSecurityGroupsCommand({}))).SecurityGroups).toHaveLength(2);
  });

  it('the token bucket refills at `rate` per second of simulator clock', async () => {
    let now = 1_000_000;
    const { sim, ec2 } = await setup({ clock: () => now });
    sim.faults.update({ throttle: { '*': { rate: 2, burst: 1 } } });
    await ec2.send(new E.DescribeSubnetsCommand({}));
    await expect(ec2.send(new E.DescribeSubnetsCommand({}))).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
    });
    now += 500; // one token at 2/s
    await ec2.send(new E.DescribeSubnetsCommand({}));
    await expect(ec2.send(new E.DescribeSecurityGroupsCommand({}))).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
    });
    const outcomes = sim.faults.calls.map((c) => `${c.action}:${c.outcome}`);
    expect(outcomes).toEqual([
      'DescribeSubnets:OK',
      'DescribeSubnets:RequestLimitExceeded',
      'DescribeSubnets:OK',
      'DescribeSecurityGroups:RequestLimitExceeded',
    ]);
  });

  it('per-action latency delays the reply without changing it', async () => {
    const { sim, ec2 } = await setup();
    sim.faults.update({ latencyMs: { DescribeSubnets: 20 } });
    expect(sim.faults.latency('DescribeSubnets')).toBe(20);
    expect(sim.faults.latency('DescribeSecurityGroups')).toBe(0);
    const r = await ec2.send(new E.DescribeSubnetsCommand({ SubnetIds: [SUBNET_A] }));
    expect(r.Subnets?.map((s) => s.SubnetId)).toEqual([SUBNET_A]);
  });
});

describe('admin API', () => {
  it('reads the call log and counts, sets faults, resets, dumps the world', async () => {
    const { sim, ec2, node } = await setup();
    await ec2.send(new E.DescribeInstancesCommand({ InstanceIds: [node.instance.id] }));
    await ec2.send(new E.DescribeInstancesCommand({}));
    const calls = (await (await fetch(`${sim.ec2Url}/_sim/calls`)).json()) as {
      counts: Record<string, number>;
      calls: { params: Record<string, string> }[];
    };
    expect(calls.counts).toEqual({ DescribeInstances: 2 });
    expect(calls.calls[0]!.params['InstanceId.1']).toBe(node.instance.id);
    const set = await fetch(`${sim.ec2Url}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ deny: ['DescribeInstances'] }),
    });
    expect(((await set.json()) as { deny: string[] }).deny).toEqual(['DescribeInstances']);
    await expect(ec2.send(new E.DescribeInstancesCommand({}))).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
    });
    await fetch(`${sim.ec2Url}/_sim/calls`, { method: 'DELETE' });
    expect(sim.faults.calls).toHaveLength(0);
    const world = (await (await fetch(`${sim.ec2Url}/_sim/world`)).json()) as {
      instances: { id: string }[];
      enis: unknown[];
    };
    expect(world.instances.map((i) => i.id)).toEqual([node.instance.id]);
    expect(world.enis).toHaveLength(1);
    expect((await fetch(`${sim.ec2Url}/_sim/nope`)).status).toBe(404);
  });
});

describe('crash hook and IMDS admin', () => {
  it('dropReplyNext: the ENI is created but the caller gets no reply; it can be found by its tags', async () => {
    const { sim, ec2 } = await setup();
    sim.faults.update({ dropReplyNext: { CreateNetworkInterface: 1 } });
    const tag = { Key: 'node.k8s.amazonaws.com/instance_id', Value: 'i-lost' };
    await expect(
      ec2.send(
        new E.CreateNetworkInterfaceCommand({
          SubnetId: SUBNET_A,
          TagSpecifications: [{ ResourceType: 'network-interface', Tags: [tag] }],
        }),
      ),
    ).rejects.toThrow();
    expect(sim.faults.calls.at(-1)?.outcome).toBe('DroppedReply');
    const found = await ec2.send(
      new E.DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'tag:node.k8s.amazonaws.com/instance_id', Values: ['i-lost'] }],
      }),
    );
    expect(found.NetworkInterfaces).toHaveLength(1);
    const again = await ec2.send(new E.CreateNetworkInterfaceCommand({ SubnetId: SUBNET_A }));
    expect(again.NetworkInterface?.Status).toBe('available');
  });

  it('POST /_sim/imds/<id> sets lag (stale) and the v2 requirement', async () => {
    const { sim, node } = await setup();
    const url = `${sim.ec2Url}/_sim/imds/${node.instance.id}`;
    const r = (await (
      await fetch(url, { method: 'POST', body: JSON.stringify({ lagMs: 'stale', requireV2: false }) })
    ).json()) as Record<string, unknown>;
    expect(r).toMatchObject({ lagMs: 'stale', requireV2: false, url: node.imdsUrl });
    expect(node.imds.lagMs).toBe(Infinity);
    expect((await fetch(`${node.imdsUrl}/latest/meta-data/instance-id`)).status).toBe(200);
    await fetch(url, { method: 'POST', body: JSON.stringify({ lagMs: 250 }) });
    expect(node.imds.lagMs).toBe(250);
    expect((await fetch(`${sim.ec2Url}/_sim/imds/i-nope`)).status).toBe(404);
  });
});
