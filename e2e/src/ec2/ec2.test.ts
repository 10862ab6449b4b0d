// The real AWS SDK v3 EC2Client against the simulator: it must decode every answer and every error.
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  EC2Client,
  EC2ServiceException,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ec2Sim, World } from './index.js';

let sim: Ec2Sim;
let ec2: EC2Client;
let world: World;
let subnetId: string;
let instanceId: string;

beforeAll(async () => {
  world = new World(['10.0.0.0/16']);
  subnetId = world.addSubnet('10.0.0.0/24', 'us-west-2a', { Name: 'nodes' }).id;
  world.addSecurityGroup('nodes');
  instanceId = world.addInstance('m5.large', subnetId).id;
  sim = new Ec2Sim(world, { throttle: { DescribeSecurityGroups: { capacity: 2, perSecond: 0.001 } } });
  const endpoint = await sim.start();
  ec2 = new EC2Client({
    endpoint,
    region: 'us-west-2',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  ec2?.destroy();
  await sim?.stop();
});

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof EC2ServiceException) return e.name;
    throw e;
  }
  return 'no error';
};

describe('EC2 simulator through the AWS SDK', () => {
  it('describes the instance, its type limits and its subnet', async () => {
    const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const inst = r.Reservations?.[0]?.Instances?.[0];
    expect(inst).toMatchObject({
      InstanceId: instanceId,
      InstanceType: 'm5.large',
      Placement: { AvailabilityZone: 'us-west-2a' },
    });
    expect(inst?.NetworkInterfaces?.[0]?.Attachment).toMatchObject({ DeviceIndex: 0, NetworkCardIndex: 0 });
    const t = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.large'] }));
    expect(t.InstanceTypes?.[0]?.NetworkInfo).toMatchObject({
      MaximumNetworkInterfaces: 3,
      Ipv4AddressesPerInterface: 10,
    });
    const s = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }));
    expect(s.Subnets?.[0]).toMatchObject({
      SubnetId: subnetId,
      CidrBlock: '10.0.0.0/24',
      AvailableIpAddressCount: 250,
    });
  });

  it('creates, tags, attaches, assigns, unassigns, detaches and deletes an ENI', async () => {
    const created = await ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: subnetId,
        Description: `aws-K8S-${instanceId}`,
        SecondaryPrivateIpAddressCount: 2,
        TagSpecifications: [
          {
            ResourceType: 'network-interface',
            Tags: [{ Key: 'node.k8s.amazonaws.com/instance_id', Value: instanceId }],
          },
        ],
      }),
    );
    const eni = created.NetworkInterface;
    const id = eni?.NetworkInterfaceId as string;
    expect(eni).toMatchObject({ Status: 'available', Description: `aws-K8S-${instanceId}` });
    expect(eni?.PrivateIpAddresses).toHaveLength(3);
    expect(eni?.TagSet).toEqual([{ Key: 'node.k8s.amazonaws.com/instance_id', Value: instanceId }]);
    const att = await ec2.send(
      new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: instanceId, DeviceIndex: 1 }),
    );
    expect(att.AttachmentId).toMatch(/^eni-attach-/);
    await ec2.send(
      new ModifyNetworkInterfaceAttributeCommand({
        NetworkInterfaceId: id,
        Attachment: { AttachmentId: att.AttachmentId, DeleteOnTermination: true },
      }),
    );
    const assigned = await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, SecondaryPrivateIpAddressCount: 3 }),
    );
    expect(assigned.AssignedPrivateIpAddresses).toHaveLength(3);
    const prefixes = await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, Ipv4PrefixCount: 1 }),
    );
    expect(prefixes.AssignedIpv4Prefixes?.[0]?.Ipv4Prefix).toMatch(/^10\.0\.0\.\d+\/28$/);
    await ec2.send(
      new CreateTagsCommand({
        Resources: [id],
        Tags: [{ Key: 'cluster.k8s.amazonaws.com/name', Value: 'demo' }],
      }),
    );
    const d = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: 'attachment.instance-id', Values: [instanceId] },
          { Name: 'tag:cluster.k8s.amazonaws.com/name', Values: ['demo'] },
        ],
      }),
    );
    expect(d.NetworkInterfaces?.map((n) => n.NetworkInterfaceId)).toEqual([id]);
    expect(d.NetworkInterfaces?.[0]).toMatchObject({
      Status: 'in-use',
      Attachment: { DeviceIndex: 1, DeleteOnTermination: true, InstanceId: instanceId },
    });
    expect(d.NetworkInterfaces?.[0]?.Ipv4Prefixes).toHaveLength(1);
    const ip = assigned.AssignedPrivateIpAddresses?.[0]?.PrivateIpAddress as string;
    await ec2.send(
      new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: id, PrivateIpAddresses: [ip] }),
    );
    expect(world.eni(id).secondaryIps).not.toContain(ip);
    expect(await code(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })))).toBe(
      'InvalidNetworkInterface.InUse',
    );
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: att.AttachmentId }));
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }));
    expect(world.enis.has(id)).toBe(false);
  });

  it('returns the real error codes', async () => {
    expect(
      await code(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-nope'] }))),
    ).toBe('InvalidNetworkInterfaceID.NotFound');
    expect(await code(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: 'subnet-nope' })))).toBe(
      'InvalidSubnetID.NotFound',
    );
    expect(await code(ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'eni-attach-nope' })))).toBe(
      'InvalidAttachmentID.NotFound',
    );
    // m5.large: 3 ENIs.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId }))).NetworkInterface
          ?.NetworkInterfaceId as string,
      );
    await ec2.send(
      new AttachNetworkInterfaceCommand({
        NetworkInterfaceId: ids[0],
        InstanceId: instanceId,
        DeviceIndex: 1,
      }),
    );
    await ec2.send(
      new AttachNetworkInterfaceCommand({
        NetworkInterfaceId: ids[1],
        InstanceId: instanceId,
        DeviceIndex: 2,
      }),
    );
    expect(
      await code(
        ec2.send(
          new AttachNetworkInterfaceCommand({
            NetworkInterfaceId: ids[2],
            InstanceId: instanceId,
            DeviceIndex: 3,
          }),
        ),
      ),
    ).toBe('AttachmentLimitExceeded');
    // 10 IPv4 per ENI on m5.large: the primary plus 9.
    await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ids[0], SecondaryPrivateIpAddressCount: 9 }),
    );
    expect(
      await code(
        ec2.send(
          new AssignPrivateIpAddressesCommand({
            NetworkInterfaceId: ids[0],
            SecondaryPrivateIpAddressCount: 1,
          }),
        ),
      ),
    ).toBe('PrivateIpAddressLimitExceeded');
    expect(
      await code(ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.nope' as 'm5.large'] }))),
    ).toBe('InvalidInstanceType');
  });

  it('throttles with RequestLimitExceeded once the bucket is empty, and counts calls by outcome', async () => {
    const { DescribeSecurityGroupsCommand } = await import('@aws-sdk/client-ec2');
    for (let i = 0; i < 2; i++) await ec2.send(new DescribeSecurityGroupsCommand({}));
    expect(await code(ec2.send(new DescribeSecurityGroupsCommand({})))).toBe('RequestLimitExceeded');
    expect(sim.count('DescribeSecurityGroups', 'ok')).toBe(2);
    expect(sim.count('DescribeSecurityGroups', 'RequestLimitExceeded')).toBe(1);
  });

  it('paginates DescribeNetworkInterfaces with MaxResults/NextToken', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await ec2.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5, NextToken: token }));
      seen.push(...(r.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId as string));
      token = r.NextToken;
    } while (token);
    expect(seen.sort()).toEqual([...world.enis.keys()].sort());
  });
});

describe('world model (property)', () => {
  it('never hands one address to two ENIs and keeps the subnet count exact', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constant('create'),
            fc.constant('assign'),
            fc.constant('prefix'),
            fc.constant('delete'),
          ),
          {
            maxLength: 60,
          },
        ),
        (ops) => {
          const w = new World(['10.1.0.0/16']);
          const s = w.addSubnet('10.1.0.0/26', 'us-west-2a');
          for (const op of ops) {
            const enis = [...w.enis.values()];
            try {
              if (op === 'create') w.createEni({ subnetId: s.id });
              else if (op === 'assign' && enis[0]) w.assignPrivateIps(enis[0].id, { count: 2 });
              else if (op === 'prefix' && enis[0]) w.assignPrivateIps(enis[0].id, { prefixCount: 1 });
              else if (op === 'delete' && enis.at(-1)) w.deleteEni((enis.at(-1) as { id: string }).id);
            } catch (e) {
              if (!(e instanceof Error) || !('code' in e)) throw e;
            }
            const addrs = [...w.enis.values()].flatMap((e) => [
              e.primaryIp,
              ...e.secondaryIps,
              ...e.prefixes.flatMap((p) => Array.from({ length: 16 }, (_, i) => `${p.split('/')[0]}+${i}`)),
            ]);
            expect(new Set(addrs).size).toBe(addrs.length);
            const inUse = [...w.enis.values()].reduce(
              (n, e) => n + 1 + e.secondaryIps.length + 16 * e.prefixes.length,
              0,
            );
            expect(w.availableAddresses(s)).toBe(64 - 5 - inUse);
          }
        },
      ),
    );
  });
});
