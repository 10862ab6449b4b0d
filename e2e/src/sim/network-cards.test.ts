// Network cards in the simulator, driven through the real AWS SDK: per-type cards from the limits data,
// NetworkCardIndex on AttachNetworkInterface with EC2's errors, IMDS's network-card field, and efa-only
// interfaces (no IP address at all), also attached at launch.
import * as E from '@aws-sdk/client-ec2';
import { instanceLimits } from '@vpc-cni/shared/limits';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sim } from './sim.js';
import { SG_2, SUBNET_A, sdkClient, startSmall } from './testkit.js';

let sim: Sim | undefined;
let ec2: E.EC2Client | undefined;
afterEach(async () => {
  ec2?.destroy();
  await sim?.stop();
  sim = undefined;
  ec2 = undefined;
});

// hpc7a.12xlarge: 2 cards × 2 ENIs (small enough to fill a card).
const TYPE = 'hpc7a.12xlarge';

async function start(type = TYPE) {
  sim = await startSmall();
  ec2 = sdkClient(sim);
  const node = await sim.launch({ type, subnetId: SUBNET_A });
  const c = ec2;
  const newEni = async (extra: Partial<E.CreateNetworkInterfaceCommandInput> = {}) =>
    (await c.send(new E.CreateNetworkInterfaceCommand({ SubnetId: SUBNET_A, Groups: [SG_2], ...extra })))
      .NetworkInterface!;
  const attach = (id: string, device: number, card?: number) =>
    c.send(
      new E.AttachNetworkInterfaceCommand({
        NetworkInterfaceId: id,
        InstanceId: node.instance.id,
        DeviceIndex: device,
        ...(card === undefined ? {} : { NetworkCardIndex: card }),
      }),
    );
  const failure = async (p: Promise<unknown>) => {
    const e = (await p.then(
      () => undefined,
      (x: unknown) => x,
    )) as { name?: string; message?: string } | undefined;
    expect(e, 'the call should have failed').toBeDefined();
    return { code: e!.name, message: e!.message };
  };
  return { node, newEni, attach, failure, ec2: c };
}

describe('simulator: network cards', () => {
  it('DescribeInstanceTypes: the cards and their ENI limits from the data', async () => {
    const { ec2: c } = await start();
    const r = await c.send(new E.DescribeInstanceTypesCommand({ InstanceTypes: ['p4d.24xlarge', TYPE] }));
    for (const t of r.InstanceTypes!) {
      const l = instanceLimits(t.InstanceType!)!;
      expect(t.NetworkInfo?.MaximumNetworkCards).toBe(l.networkCards.length);
      expect(
        t.NetworkInfo?.NetworkCards?.map((n) => [n.NetworkCardIndex, n.MaximumNetworkInterfaces]),
      ).toEqual(l.networkCards.map((n) => [n.index, n.maxEnis]));
    }
    expect(instanceLimits('p4d.24xlarge')!.networkCards).toHaveLength(4);
  });

  it('attach on card 1 at device 0: EC2 and IMDS report the card; the device index is per card', async () => {
    const { node, newEni, attach, ec2: c } = await start();
    const eni = await newEni({ SecondaryPrivateIpAddressCount: 2 });
    const att = await attach(eni.NetworkInterfaceId!, 0, 1);
    expect(att.NetworkCardIndex).toBe(1);
    const d = await c.send(
      new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni.NetworkInterfaceId!] }),
    );
    expect(d.NetworkInterfaces![0]!.Attachment).toMatchObject({ DeviceIndex: 0, NetworkCardIndex: 1 });
    const inst = await c.send(new E.DescribeInstancesCommand({ InstanceIds: [node.instance.id] }));
    expect(
      inst
        .Reservations![0]!.Instances![0]!.NetworkInterfaces!.map((n) => [
          n.Attachment?.NetworkCardIndex,
          n.Attachment?.DeviceIndex,
        ])
        .sort(),
    ).toEqual([
      [0, 0],
      [1, 0],
    ]);
    // IMDS (read as ipamd reads it, with a v2 token)
    const tok = await (
      await fetch(`${node.imdsUrl}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      })
    ).text();
    const md = async (p: string) =>
      (
        await fetch(`${node.imdsUrl}/latest/meta-data/${p}`, { headers: { 'x-aws-ec2-metadata-token': tok } })
      ).text();
    const mac = eni.MacAddress!;
    expect(await md(`network/interfaces/macs/${mac}/network-card`)).toBe('1');
    expect(await md(`network/interfaces/macs/${mac}/device-number`)).toBe('0');
    expect((await md(`network/interfaces/macs/${mac}/local-ipv4s`)).split('\n')).toHaveLength(3);
  });

  it("EC2's errors: card out of range, card full, device taken on the same card", async () => {
    const { newEni, attach, failure } = await start();
    const a = await newEni();
    expect(await failure(attach(a.NetworkInterfaceId!, 0, 2))).toEqual({
      code: 'InvalidParameterValue',
      message: `Network card index 2 is not valid for instance type ${TYPE}`,
    });
    await attach(a.NetworkInterfaceId!, 0, 1);
    const b = await newEni();
    expect((await failure(attach(b.NetworkInterfaceId!, 0, 1))).code).toBe('InvalidParameterValue');
    await attach(b.NetworkInterfaceId!, 1, 1);
    const c = await newEni();
    expect(await failure(attach(c.NetworkInterfaceId!, 2, 1))).toEqual({
      code: 'AttachmentLimitExceeded',
      message: `Interface count 3 exceeds the limit for ${TYPE}`,
    });
    // card 0 still has a free slot (the primary ENI is its only ENI)
    expect((await attach(c.NetworkInterfaceId!, 1)).NetworkCardIndex).toBe(0);
  });

  it('efa-only: no IP address in EC2 or IMDS, none can be added; attachable to a card and deletable', async () => {
    const { node, newEni, attach, failure, ec2: c } = await start();
    expect(await failure(newEni({ InterfaceType: 'efa-only', SecondaryPrivateIpAddressCount: 1 }))).toEqual({
      code: 'InvalidParameterCombination',
      message: 'IP addresses cannot be specified for a network interface of type efa-only.',
    });
    const free = sim!.world.alloc(SUBNET_A).available();
    const eni = await newEni({ InterfaceType: 'efa-only' });
    expect(eni.InterfaceType).toBe('efa-only');
    expect(eni.PrivateIpAddress).toBeUndefined();
    expect(eni.PrivateIpAddresses ?? []).toEqual([]);
    expect(sim!.world.alloc(SUBNET_A).available()).toBe(free);
    expect(
      (
        await failure(
          c.send(
            new E.AssignPrivateIpAddressesCommand({
              NetworkInterfaceId: eni.NetworkInterfaceId!,
              SecondaryPrivateIpAddressCount: 1,
            }),
          ),
        )
      ).code,
    ).toBe('InvalidParameterCombination');
    await attach(eni.NetworkInterfaceId!, 0, 1);
    const tok = await (
      await fetch(`${node.imdsUrl}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      })
    ).text();
    const get = (p: string) =>
      fetch(`${node.imdsUrl}/latest/meta-data/network/interfaces/macs/${eni.MacAddress}/${p}`, {
        headers: { 'x-aws-ec2-metadata-token': tok },
      });
    const listing = (await (await get('')).text()).split('\n');
    expect(listing).toContain('network-card');
    expect(listing).not.toContain('local-ipv4s');
    expect((await get('local-ipv4s')).status).toBe(404);
    expect(await (await get('network-card')).text()).toBe('1');
    const d = await c.send(
      new E.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni.NetworkInterfaceId!] }),
    );
    expect(d.NetworkInterfaces![0]!.Attachment?.NetworkCardIndex).toBe(1);
    await c.send(
      new E.DetachNetworkInterfaceCommand({
        AttachmentId: d.NetworkInterfaces![0]!.Attachment!.AttachmentId,
      }),
    );
    await c.send(new E.DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId! }));
    expect(sim!.world.alloc(SUBNET_A).available()).toBe(free);
  });

  it('launch with an efa-only interface on a card (RunInstances NetworkInterfaces): attached there, with no address', async () => {
    sim = await startSmall();
    ec2 = sdkClient(sim);
    const plugged: string[] = [];
    sim.onAttach((eni) => {
      plugged.push(eni.id);
    });
    const node = await sim.launch({
      type: 'p4d.24xlarge',
      subnetId: SUBNET_A,
      interfaces: [{ networkCardIndex: 3, deviceIndex: 0, interfaceType: 'efa-only' }],
    });
    const r = await ec2.send(
      new E.DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: [node.instance.id] }],
      }),
    );
    const efa = r.NetworkInterfaces!.find((n) => n.InterfaceType === 'efa-only')!;
    expect(efa.Attachment).toMatchObject({ NetworkCardIndex: 3, DeviceIndex: 0, DeleteOnTermination: true });
    expect(efa.PrivateIpAddress).toBeUndefined();
    expect(efa.PrivateIpAddresses ?? []).toEqual([]);
    // the attach listeners ran for it (a hot-plug decides itself that an EFA-only device has no netdev)
    expect(plugged).toContain(efa.NetworkInterfaceId);
    expect(r.NetworkInterfaces).toHaveLength(2);
  });
});
