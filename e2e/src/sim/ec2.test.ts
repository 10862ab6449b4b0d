// The real AWS SDK v3 EC2 client drives every action against the simulator and decodes the XML replies.
import * as E from '@aws-sdk/client-ec2';
import { instanceLimits } from '@vpc-cni/shared/limits';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sim } from './sim.js';
import { SG_1, SG_2, SUBNET_A, SUBNET_B, sdkClient, startSmall } from './testkit.js';

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

const newEni = async (
  extra: Partial<E.CreateNetworkInterfaceCommandInput> = {},
): Promise<E.NetworkInterface> => {
  const r = await ec2.send(
    new E.CreateNetworkInterfaceCommand({ SubnetId: SUBNET_A, Groups: [SG_2], ...extra }),
  );
  return r.NetworkInterface!;
};

describe('describe actions', () => {
  it('DescribeInstances shows the instance and its primary ENI at device 0', async () => {
    const r = await ec2.send(new E.DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const inst = r.Reservations![0]!.Instances![0]!;
    expect(inst.InstanceId).toBe(instanceId);
    expect(inst.InstanceType).toBe('m5.large');
    expect(inst.Placement?.AvailabilityZone).toBe('us-west-2a');
    expect(inst.NetworkInterfaces).toHaveLength(1);
    const ni = inst.NetworkInterfaces![0]!;
    expect(ni.Attachment?.DeviceIndex).toBe(0);
    expect(ni.Attachment?.NetworkCardIndex).toBe(0);
    expect(ni.Attachment?.DeleteOnTermination).toBe(true);
    expect(ni.Attachment?.AttachTime).toBeInstanceOf(Date);
    expect(ni.PrivateIpAddress).toBe(inst.PrivateIpAddress);
    expect(ni.Groups?.map((g) => g.GroupId)).toEqual([SG_1]);
  });

  it('DescribeInstanceTypes reports the limits table', async () => {
    const r = await ec2.send(
      new E.DescribeInstanceTypesCommand({ InstanceTypes: ['m5.large', 'c5.18xlarge'] }),
    );
    for (const t of r.InstanceTypes!) {
      const l = instanceLimits(t.InstanceType!)!;
      expect(t.NetworkInfo?.Ipv4AddressesPerInterface).toBe(l.ipv4PerEni);
      expect(t.NetworkInfo?.DefaultNetworkCardIndex).toBe(l.defaultNetworkCardIndex);
      expect(t.NetworkInfo?.NetworkCards?.map((c) => c.MaximumNetworkInterfaces)).toEqual(
        l.networkCards.map((c) => c.maxEnis),
      );
      expect(t.Hypervisor).toBe(l.hypervisor);
    }
    expect(r.InstanceTypes?.map((t) => t.InstanceType).sort()).toEqual(['c5.18xlarge', 'm5.large']);
  });

  it('DescribeSubnets counts available addresses (5 reserved, primary ENI taken) and filters by tag', async () => {
    const r = await ec2.send(new E.DescribeSubnetsCommand({ SubnetIds: [SUBNET_A, SUBNET_B] }));
    const byId = new Map(r.Subnets!.map((s) => [s.SubnetId, s]));
    expect(byId.get(SUBNET_A)?.AvailableIpAddressCount).toBe(256 - 5 - 1);
    expect(byId.get(SUBNET_B)?.AvailableIpAddressCount).toBe(32 - 5);
    expect(byId.get(SUBNET_A)?.Ipv6CidrBlockAssociationSet?.[0]?.Ipv6CidrBlock).toBe(
      '2600:1f14:abc:de01::/64',
    );
    const tagged = await ec2.send(
      new E.DescribeSubnetsCommand({
        Filters: [
          { Name: 'tag:kubernetes.io/role/cni', Values: ['1'] },
          { Name: 'vpc-id', Values: [sim.world.vpc.id] },
        ],
      }),
    );
    expect(tagged.Subnets?.map((s) => s.SubnetId)).toEqual([SUBNET_A]);
  });

  it('DescribeSecurityGroups by id and by tag-key', async () => {
    const r = await ec2.send(new E.DescribeSecurityGroupsCommand({ GroupIds: [SG_1] }));
    expect(r.SecurityGroups?.map((g) => [g.GroupId, g.GroupName, g.VpcId])).toEqual([
      [SG_1, 'nodes', sim.world.vpc.id],
    ]);
    const t = await ec2.send(
      new E.DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag-key', Values: ['team'] }] }),
    );
    expect(t.SecurityGroups?.map((g) => g.GroupId)).toEqual([SG_2]);
  });
});

describe('ENI lifecycle', () => {
  it('CreateNetworkInterface with tags, SGs, description and secondary IPs', async () => {
    const ni = await newEni({
      Description: `aws-K8S-${instanceId}`,
      SecondaryPrivateIpAddressCount: 3,
      TagSpecifications: [
        {
          ResourceType: 'network-interface',
          Tags: [{ Key: 'node.k8s.amazonaws.com/instance_id', Value: instanceId }],
        },
      ],
    });
    expect(ni.NetworkInterfaceId).toMatch(/^eni-[0-9a-f]{17}$/);
    expect(ni.MacAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(ni.Status).toBe('available');
    expect(ni.Description).toBe(`aws-K8S-${instanceId}`);
    expect(ni.Groups?.map((g) => g.GroupId)).toEqual([SG_2]);
    expect(ni.PrivateIpAddresses).toHaveLength(4);
    expect(ni.PrivateIpAddresses?.filter((a) => a.Primary).map((a) => a.PrivateIpAddress)).toEqual([
      ni.PrivateIpAddress,
    ]);
    expect(ni.TagSet).toEqual([{ Key: 'node.k8s.amazonaws.com/instance_id', Value: instanceId }]);
    expect(ni.InterfaceType).toBe('interface');
  });

  it('CreateNetworkInterface with /28 prefixes and IPv6, trunk type', async () => {
    const ni = await newEni({
      Ipv4PrefixCount: 2,
      Ipv6PrefixCount: 1,
      Ipv6AddressCount: 1,
      InterfaceType: 'trunk',
    });
    expect(ni.Ipv4Prefixes).toHaveLength(2);
    for (const p of ni.Ipv4Prefixes!) {
      const [ip, bits] = p.Ipv4Prefix!.split('/');
      expect(bits).toBe('28');
      expect(Number(ip!.split('.')[3]) % 16).toBe(0);
      expect(ip!.startsWith('10.0.1.')).toBe(true);
    }
    expect(ni.Ipv6Prefixes?.[0]?.Ipv6Prefix).toMatch(/^2600:1f14:abc:de01:.*\/80$/);
    expect(ni.Ipv6Addresses).toHaveLength(1);
    expect(ni.InterfaceType).toBe('trunk');
  });

  it('attach → modify DeleteOnTermination → describe → detach → delete', async () => {
    const ni = await newEni();
    const att = await ec2.send(
      new E.AttachNetworkInterfaceCommand({
        NetworkInterfaceId: ni.NetworkInterfaceId,
        InstanceId: instanceId,
        DeviceIndex: 1,
        NetworkCardIndex: 0,
      }),
    );
    expect(att.AttachmentId).toMatch(/^eni-attach-/);
    expect(att.NetworkCardIndex).toBe(0);
    await ec2.send(
      new E.ModifyNetworkInterfaceAttributeCommand({
        NetworkInterfaceId: ni.NetworkInterfaceId,
        Attachment: { AttachmentId: att.AttachmentId, DeleteOnTermination: true },
      }),
    );
    const d = await ec2.send(
      new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ni.NetworkInterfaceId!] }),
    );
    const got = d.NetworkInterfaces![0]!;
    expect(got.Status).toBe('in-use');
    expect(got.Attachment).toMatchObject({
      AttachmentId: att.AttachmentId,
      InstanceId: instanceId,
      DeviceIndex: 1,
      Status: 'attached',
      DeleteOnTermination: true,
    });
    const inst = await ec2.send(new E.DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    expect(
      inst.Reservations![0]!.Instances![0]!.NetworkInterfaces?.map((n) => n.Attachment?.DeviceIndex),
    ).toEqual([0, 1]);
    const det = await ec2.send(new E.DetachNetworkInterfaceCommand({ AttachmentId: att.AttachmentId }));
    expect(det.$metadata.httpStatusCode).toBe(200);
    const after = await ec2.send(
      new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ni.NetworkInterfaceId!] }),
    );
    expect(after.NetworkInterfaces![0]!.Status).toBe('available');
    expect(after.NetworkInterfaces![0]!.Attachment).toBeUndefined();
    await ec2.send(new E.DeleteNetworkInterfaceCommand({ NetworkInterfaceId: ni.NetworkInterfaceId }));
    expect(sim.world.enis.has(ni.NetworkInterfaceId!)).toBe(false);
  });

  it('ModifyNetworkInterfaceAttribute changes groups, description and source/dest check', async () => {
    const ni = await newEni();
    const id = ni.NetworkInterfaceId!;
    await ec2.send(
      new E.ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Groups: [SG_1, SG_2] }),
    );
    await ec2.send(
      new E.ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Description: { Value: 'x' } }),
    );
    await ec2.send(
      new E.ModifyNetworkInterfaceAttributeCommand({
        NetworkInterfaceId: id,
        SourceDestCheck: { Value: false },
      }),
    );
    const d = (await ec2.send(new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] })))
      .NetworkInterfaces![0]!;
    expect(d.Groups?.map((g) => g.GroupId)).toEqual([SG_1, SG_2]);
    expect(d.Description).toBe('x');
    expect(d.SourceDestCheck).toBe(false);
  });
});

describe('address actions', () => {
  it('AssignPrivateIpAddresses by count, explicit, and prefix count; Unassign both kinds', async () => {
    const id = (await newEni()).NetworkInterfaceId!;
    const a = await ec2.send(
      new E.AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, SecondaryPrivateIpAddressCount: 2 }),
    );
    expect(a.NetworkInterfaceId).toBe(id);
    expect(a.AssignedPrivateIpAddresses).toHaveLength(2);
    const b = await ec2.send(
      new E.AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, PrivateIpAddresses: ['10.0.1.200'] }),
    );
    expect(b.AssignedPrivateIpAddresses?.map((x) => x.PrivateIpAddress)).toEqual(['10.0.1.200']);
    const c = await ec2.send(
      new E.AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, Ipv4PrefixCount: 1 }),
    );
    const prefix = c.AssignedIpv4Prefixes![0]!.Ipv4Prefix!;
    expect(prefix).toMatch(/^10\.0\.1\.\d+\/28$/);
    await ec2.send(
      new E.UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: id, PrivateIpAddresses: ['10.0.1.200'] }),
    );
    await ec2.send(
      new E.UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: id, Ipv4Prefixes: [prefix] }),
    );
    const d = (await ec2.send(new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] })))
      .NetworkInterfaces![0]!;
    expect(d.PrivateIpAddresses?.map((x) => x.PrivateIpAddress)).not.toContain('10.0.1.200');
    expect(d.PrivateIpAddresses).toHaveLength(3);
    expect(d.Ipv4Prefixes ?? []).toHaveLength(0);
  });

  it('AssignIpv6Addresses / UnassignIpv6Addresses with prefixes and addresses', async () => {
    const id = (await newEni()).NetworkInterfaceId!;
    const a = await ec2.send(
      new E.AssignIpv6AddressesCommand({ NetworkInterfaceId: id, Ipv6PrefixCount: 1 }),
    );
    const prefix = a.AssignedIpv6Prefixes![0]!;
    expect(prefix).toMatch(/\/80$/);
    const b = await ec2.send(
      new E.AssignIpv6AddressesCommand({ NetworkInterfaceId: id, Ipv6AddressCount: 2 }),
    );
    expect(b.AssignedIpv6Addresses).toHaveLength(2);
    const u = await ec2.send(
      new E.UnassignIpv6AddressesCommand({
        NetworkInterfaceId: id,
        Ipv6Prefixes: [prefix],
        Ipv6Addresses: [b.AssignedIpv6Addresses![0]!],
      }),
    );
    expect(u.UnassignedIpv6Prefixes).toEqual([prefix]);
    expect(u.UnassignedIpv6Addresses).toEqual([b.AssignedIpv6Addresses![0]]);
    const d = (await ec2.send(new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] })))
      .NetworkInterfaces![0]!;
    expect(d.Ipv6Addresses?.map((x) => x.Ipv6Address)).toEqual([b.AssignedIpv6Addresses![1]]);
    expect(d.Ipv6Prefixes ?? []).toHaveLength(0);
  });

  it('CreateTags / DeleteTags and tag filters on DescribeNetworkInterfaces', async () => {
    const id = (await newEni({ Description: 'aws-K8S-x' })).NetworkInterfaceId!;
    await ec2.send(
      new E.CreateTagsCommand({
        Resources: [id],
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
      }),
    );
    const f = await ec2.send(
      new E.DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: 'tag-key', Values: ['a'] },
          { Name: 'tag:b', Values: ['2'] },
          { Name: 'status', Values: ['available'] },
          { Name: 'vpc-id', Values: [sim.world.vpc.id] },
          { Name: 'subnet-id', Values: [SUBNET_A] },
          { Name: 'description', Values: ['aws-K8S-*'] },
        ],
      }),
    );
    expect(f.NetworkInterfaces?.map((n) => n.NetworkInterfaceId)).toEqual([id]);
    await ec2.send(new E.DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'a' }] }));
    const g = await ec2.send(
      new E.DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'tag-key', Values: ['a'] }] }),
    );
    expect(g.NetworkInterfaces ?? []).toHaveLength(0);
    const own = await ec2.send(
      new E.DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }],
      }),
    );
    expect(own.NetworkInterfaces).toHaveLength(1);
    const byId = await ec2.send(
      new E.DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: [id] }] }),
    );
    expect(byId.NetworkInterfaces?.[0]?.TagSet).toEqual([{ Key: 'b', Value: '2' }]);
  });
});

describe('pagination', () => {
  it('DescribeNetworkInterfaces pages with MaxResults/NextToken and the SDK paginator sees every ENI once', async () => {
    const made = new Set<string>();
    for (let i = 0; i < 12; i++)
      made.add((await newEni({ SubnetId: i % 2 ? SUBNET_A : SUBNET_B })).NetworkInterfaceId!);
    const first = await ec2.send(new E.DescribeNetworkInterfacesCommand({ MaxResults: 5 }));
    expect(first.NetworkInterfaces).toHaveLength(5);
    expect(first.NextToken).toBeDefined();
    const seen: string[] = [];
    for await (const page of E.paginateDescribeNetworkInterfaces(
      { client: ec2, pageSize: 5 },
      { Filters: [{ Name: 'status', Values: ['available'] }] },
    ))
      seen.push(...page.NetworkInterfaces!.map((n) => n.NetworkInterfaceId!));
    expect(seen).toHaveLength(made.size);
    expect(new Set(seen)).toEqual(made);
  });

  it('DescribeInstanceTypes pages through the whole table', async () => {
    let n = 0;
    for await (const page of E.paginateDescribeInstanceTypes({ client: ec2, pageSize: 100 }, {}))
      n += page.InstanceTypes!.length;
    const all = (await import('@vpc-cni/shared/limits')).knownInstanceTypes();
    expect(n).toBe(all.length);
  });
});
