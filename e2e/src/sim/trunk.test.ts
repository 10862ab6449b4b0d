// Trunk/branch ENIs through the AWS SDK: a trunk attached to an instance takes branch ENIs under unique VLAN ids up
// to the type's branch limit; the associations are listed, filtered and paged; bad requests fail like EC2 and
// change nothing; deleting a branch drops its association.
import {
  AssociateTrunkInterfaceCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeTrunkInterfaceAssociationsCommand,
  DisassociateTrunkInterfaceCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { instanceLimits } from '@vpc-cni/shared/limits';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sim } from './sim.js';
import { SG_2, SUBNET_A, sdkClient, startSmall } from './testkit.js';

let sim: Sim | undefined;
let ec2: EC2Client | undefined;
afterEach(async () => {
  ec2?.destroy();
  await sim?.stop();
});

async function trunkNode(type = 'm5.large') {
  sim = await startSmall({ subnets: [{ id: SUBNET_A, cidr: '10.0.0.0/20', az: 'us-west-2a' }] });
  ec2 = sdkClient(sim);
  const node = await sim.launch({ type, subnetId: SUBNET_A });
  const create = async (InterfaceType: 'trunk' | 'branch') =>
    (
      await ec2!.send(
        new CreateNetworkInterfaceCommand({ SubnetId: SUBNET_A, InterfaceType, Groups: [SG_2] }),
      )
    ).NetworkInterface!.NetworkInterfaceId!;
  const trunk = await create('trunk');
  await ec2.send(
    new AttachNetworkInterfaceCommand({
      NetworkInterfaceId: trunk,
      InstanceId: node.instance.id,
      DeviceIndex: 1,
    }),
  );
  await sim.settle();
  const associate = (branch: string, VlanId: number) =>
    ec2!.send(
      new AssociateTrunkInterfaceCommand({ BranchInterfaceId: branch, TrunkInterfaceId: trunk, VlanId }),
    );
  return { node, trunk, create, associate, ec2 };
}

describe('trunk interfaces', () => {
  it('associates branches under unique VLANs, lists, filters, pages and disassociates them', async () => {
    const t = await trunkNode();
    const b1 = await t.create('branch');
    const b2 = await t.create('branch');
    const a1 = await t.associate(b1, 1);
    expect(a1.InterfaceAssociation).toMatchObject({
      BranchInterfaceId: b1,
      TrunkInterfaceId: t.trunk,
      VlanId: 1,
      InterfaceProtocol: 'VLAN',
    });
    await t.associate(b2, 2);
    const byBranch = await t.ec2.send(
      new DescribeTrunkInterfaceAssociationsCommand({
        Filters: [{ Name: 'trunk-interface-association.branch-interface-id', Values: [b2] }],
      }),
    );
    expect(byBranch.InterfaceAssociations?.map((a) => a.VlanId)).toEqual([2]);
    const page = await t.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ MaxResults: 5 }));
    expect(page.InterfaceAssociations).toHaveLength(2);
    await t.ec2.send(
      new DisassociateTrunkInterfaceCommand({ AssociationId: a1.InterfaceAssociation!.AssociationId! }),
    );
    const left = await t.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({}));
    expect(left.InterfaceAssociations?.map((a) => a.BranchInterfaceId)).toEqual([b2]);
    // Deleting a branch drops its association.
    await t.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: b2 }));
    expect(
      (await t.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({}))).InterfaceAssociations,
    ).toEqual([]);
  });

  it('refuses a used VLAN, a non-branch, an unattached trunk, a bad VLAN and an unknown association', async () => {
    const t = await trunkNode();
    const b1 = await t.create('branch');
    const b2 = await t.create('branch');
    await t.associate(b1, 7);
    await expect(t.associate(b2, 7)).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(t.associate(b2, 0)).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(t.associate(b2, 4095)).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    const plain = (await t.ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: SUBNET_A })))
      .NetworkInterface!.NetworkInterfaceId!;
    await expect(t.associate(plain, 8)).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    const loose = await t.create('trunk');
    await expect(
      t.ec2.send(
        new AssociateTrunkInterfaceCommand({ BranchInterfaceId: b2, TrunkInterfaceId: loose, VlanId: 9 }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(
      t.ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: 'trunk-assoc-0123456789abcdef0' })),
    ).rejects.toMatchObject({ name: 'InvalidAssociationID.NotFound' });
    // None of the refused calls changed anything.
    expect(
      (await t.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({}))).InterfaceAssociations,
    ).toHaveLength(1);
  });

  it("enforces the instance type's branch limit", async () => {
    const type = 'c5.large';
    const limit = instanceLimits(type)!.branchEnis;
    expect(limit).toBeGreaterThan(0);
    const t = await trunkNode(type);
    for (let v = 1; v <= limit; v++) await t.associate(await t.create('branch'), v);
    await expect(t.associate(await t.create('branch'), limit + 1)).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining(`branch interface limit (${limit})`),
    });
  });
});
