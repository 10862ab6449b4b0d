// Every error the issue lists, produced by the simulator and decoded by the real SDK (code, message, HTTP status).
import * as E from '@aws-sdk/client-ec2';
import { instanceLimits } from '@vpc-cni/shared/limits';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sim } from './sim.js';
import { SG_1, SUBNET_A, SUBNET_B, sdkClient, startSmall } from './testkit.js';

let sim: Sim;
let ec2: E.EC2Client;
let instanceId: string;

beforeEach(async () => {
  sim = await startSmall();
  ec2 = sdkClient(sim);
  instanceId = (await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] })).instance.id;
});
afterEach(async () => {
  ec2.destroy();
  await sim.stop();
});

interface SdkError {
  name: string;
  message: string;
  $metadata: { httpStatusCode?: number; requestId?: string };
}

async function failure(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (e) {
    return e as SdkError;
  }
  throw new Error('expected the call to fail');
}

const createEni = async (
  subnetId = SUBNET_A,
  extra: Partial<E.CreateNetworkInterfaceCommandInput> = {},
): Promise<string> =>
  (await ec2.send(new E.CreateNetworkInterfaceCommand({ SubnetId: subnetId, ...extra }))).NetworkInterface!
    .NetworkInterfaceId!;

describe('EC2 errors decoded by the SDK', () => {
  it('InvalidNetworkInterfaceID.NotFound quotes the missing id (ipamd parses it)', async () => {
    const real = await createEni();
    const e = await failure(
      ec2.send(
        new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [real, 'eni-0000000000000dead'] }),
      ),
    );
    expect(e.name).toBe('InvalidNetworkInterfaceID.NotFound');
    expect(e.$metadata.httpStatusCode).toBe(400);
    expect(e.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(/'([^']+)'/.exec(e.message)?.[1]).toBe('eni-0000000000000dead');
    const d = await failure(
      ec2.send(new E.DeleteNetworkInterfaceCommand({ NetworkInterfaceId: 'eni-0000000000000dead' })),
    );
    expect(d.name).toBe('InvalidNetworkInterfaceID.NotFound');
  });

  it('InvalidSubnetID.NotFound', async () => {
    const e = await failure(
      ec2.send(new E.CreateNetworkInterfaceCommand({ SubnetId: 'subnet-0000000000000dead' })),
    );
    expect(e.name).toBe('InvalidSubnetID.NotFound');
    expect(e.message).toContain('subnet-0000000000000dead');
  });

  it('AttachmentLimitExceeded when the card is full (m5.large: 3 ENIs)', async () => {
    const max = instanceLimits('m5.large')!.networkCards[0]!.maxEnis;
    for (let d = 1; d < max; d++)
      await ec2.send(
        new E.AttachNetworkInterfaceCommand({
          NetworkInterfaceId: await createEni(),
          InstanceId: instanceId,
          DeviceIndex: d,
        }),
      );
    const e = await failure(
      ec2.send(
        new E.AttachNetworkInterfaceCommand({
          NetworkInterfaceId: await createEni(),
          InstanceId: instanceId,
          DeviceIndex: max,
        }),
      ),
    );
    expect(e.name).toBe('AttachmentLimitExceeded');
    expect(e.$metadata.httpStatusCode).toBe(400);
  });

  it('PrivateIpAddressLimitExceeded on an attached ENI past ipv4PerEni (secondaries and prefixes both count)', async () => {
    const per = instanceLimits('m5.large')!.ipv4PerEni;
    const primary = sim.world.instance(instanceId).primaryEniId;
    await ec2.send(
      new E.AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: primary,
        SecondaryPrivateIpAddressCount: per - 2,
      }),
    );
    await ec2.send(
      new E.AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: primary,
        Ipv4PrefixCount: 0,
        SecondaryPrivateIpAddressCount: 1,
      }),
    );
    const e = await failure(
      ec2.send(
        new E.AssignPrivateIpAddressesCommand({
          NetworkInterfaceId: primary,
          SecondaryPrivateIpAddressCount: 1,
        }),
      ),
    );
    expect(e.name).toBe('PrivateIpAddressLimitExceeded');
    const other = await createEni();
    await ec2.send(
      new E.AttachNetworkInterfaceCommand({
        NetworkInterfaceId: other,
        InstanceId: instanceId,
        DeviceIndex: 1,
      }),
    );
    await ec2.send(
      new E.AssignPrivateIpAddressesCommand({ NetworkInterfaceId: other, Ipv4PrefixCount: per - 1 }),
    );
    const p = await failure(
      ec2.send(new E.AssignPrivateIpAddressesCommand({ NetworkInterfaceId: other, Ipv4PrefixCount: 1 })),
    );
    expect(p.name).toBe('PrivateIpAddressLimitExceeded');
  });

  it('InsufficientFreeAddressesInSubnet when the subnet runs out, and nothing is taken by the failed call', async () => {
    // SUBNET_B is a /27: 27 usable addresses.
    const id = await createEni(SUBNET_B, { SecondaryPrivateIpAddressCount: 20 });
    const before = sim.world.alloc(SUBNET_B).available();
    const e = await failure(
      ec2.send(
        new E.AssignPrivateIpAddressesCommand({
          NetworkInterfaceId: id,
          SecondaryPrivateIpAddressCount: before + 1,
        }),
      ),
    );
    expect(e.name).toBe('InsufficientFreeAddressesInSubnet');
    expect(sim.world.alloc(SUBNET_B).available()).toBe(before);
    const c = await failure(
      ec2.send(
        new E.CreateNetworkInterfaceCommand({ SubnetId: SUBNET_B, SecondaryPrivateIpAddressCount: before }),
      ),
    );
    expect(c.name).toBe('InsufficientFreeAddressesInSubnet');
    expect(sim.world.alloc(SUBNET_B).available()).toBe(before);
  });

  it('InvalidParameterValue: attaching an in-use ENI, deleting an in-use ENI, device index taken', async () => {
    const id = await createEni();
    await ec2.send(
      new E.AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: instanceId, DeviceIndex: 1 }),
    );
    const again = await failure(
      ec2.send(
        new E.AttachNetworkInterfaceCommand({
          NetworkInterfaceId: id,
          InstanceId: instanceId,
          DeviceIndex: 2,
        }),
      ),
    );
    expect(again.name).toBe('InvalidParameterValue');
    expect(again.message).toContain('in use');
    const del = await failure(ec2.send(new E.DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })));
    expect(del.name).toBe('InvalidParameterValue');
    expect(del.message).toContain('currently in use');
    const taken = await failure(
      ec2.send(
        new E.AttachNetworkInterfaceCommand({
          NetworkInterfaceId: await createEni(),
          InstanceId: instanceId,
          DeviceIndex: 1,
        }),
      ),
    );
    expect(taken.name).toBe('InvalidParameterValue');
  });

  it('InvalidAttachmentID.NotFound on detach and on modify', async () => {
    const e = await failure(
      ec2.send(new E.DetachNetworkInterfaceCommand({ AttachmentId: 'eni-attach-00000000000000000' })),
    );
    expect(e.name).toBe('InvalidAttachmentID.NotFound');
    const id = await createEni();
    const m = await failure(
      ec2.send(
        new E.ModifyNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: id,
          Attachment: { AttachmentId: 'eni-attach-0bad', DeleteOnTermination: true },
        }),
      ),
    );
    expect(m.name).toBe('InvalidAttachmentID.NotFound');
  });

  it('RequestLimitExceeded from the token bucket (503), retried by the SDK as throttling', async () => {
    sim.faults.update({ throttle: { DescribeSubnets: { rate: 0, burst: 2 } } });
    await ec2.send(new E.DescribeSubnetsCommand({}));
    await ec2.send(new E.DescribeSubnetsCommand({}));
    const e = await failure(ec2.send(new E.DescribeSubnetsCommand({})));
    expect(e.name).toBe('RequestLimitExceeded');
    expect(e.$metadata.httpStatusCode).toBe(503);
    // Other actions have their own bucket (none here).
    await ec2.send(new E.DescribeSecurityGroupsCommand({}));
    const retrying = sdkClient(sim, 3);
    sim.faults.resetCalls();
    const r = await failure(retrying.send(new E.DescribeSubnetsCommand({})));
    retrying.destroy();
    expect(r.name).toBe('RequestLimitExceeded');
    expect(sim.faults.counts().DescribeSubnets).toBe(3);
  });

  it('UnauthorizedOperation (403) for a denied action', async () => {
    sim.faults.update({ deny: ['CreateTags'] });
    const e = await failure(
      ec2.send(new E.CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: 'k', Value: 'v' }] })),
    );
    expect(e.name).toBe('UnauthorizedOperation');
    expect(e.$metadata.httpStatusCode).toBe(403);
  });

  it('OperationNotPermitted when detaching the primary ENI', async () => {
    const att = sim.world.eni(sim.world.instance(instanceId).primaryEniId).attachment!.id;
    const e = await failure(ec2.send(new E.DetachNetworkInterfaceCommand({ AttachmentId: att })));
    expect(e.name).toBe('OperationNotPermitted');
  });
});

describe('parameter combinations EC2 refuses', () => {
  it('MaxResults with explicit ids → InvalidParameterCombination; ips and prefixes in one assign too', async () => {
    const id = await createEni();
    const a = await failure(
      ec2.send(new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id], MaxResults: 5 })),
    );
    expect(a.name).toBe('InvalidParameterCombination');
    const b = await failure(
      ec2.send(new E.DescribeInstancesCommand({ InstanceIds: [instanceId], MaxResults: 5 })),
    );
    expect(b.name).toBe('InvalidParameterCombination');
    const c = await failure(
      ec2.send(
        new E.AssignPrivateIpAddressesCommand({
          NetworkInterfaceId: id,
          SecondaryPrivateIpAddressCount: 1,
          Ipv4PrefixCount: 1,
        }),
      ),
    );
    expect(c.name).toBe('InvalidParameterCombination');
    const d = await failure(ec2.send(new E.DescribeNetworkInterfacesCommand({ MaxResults: 4 })));
    expect(d.name).toBe('InvalidParameterValue');
  });
});
