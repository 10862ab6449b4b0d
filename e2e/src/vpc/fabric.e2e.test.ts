// The VPC fabric with the AWS SDK driving the simulator: attaching an ENI makes eth<N> with its MAC appear in the
// node netns; addresses EC2 assigns are routed to it across the fabric (and stop being routed when unassigned);
// a node reaches the outside from its primary address only; detach removes the link; destroy leaves nothing.
import { execFileSync } from 'node:child_process';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, describe, expect, it } from 'vitest';
import type { Sim } from '../sim/index.js';
import { SG_1, SUBNET_A, sdkClient, startSmall } from '../sim/testkit.js';
import { OUTSIDE_IP, VpcFabric } from './index.js';

const ipn = (ns: string, ...a: string[]) => execFileSync('ip', ['-n', ns, ...a], { encoding: 'utf8' });
const pings = (ns: string, ip: string, src?: string) => {
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', ...(src ? ['-I', src] : []), ip], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
};

describe('VPC fabric', () => {
  let sim: Sim;
  let fabric: VpcFabric | undefined;
  afterAll(async () => {
    fabric?.destroy();
    await sim?.stop();
  });

  it('hot-plugs ENIs, routes what EC2 assigns, reaches the outside only from a primary address, cleans up', async () => {
    sim = await startSmall();
    fabric = VpcFabric.create(sim);
    const a = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    const b = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    const nsA = fabric.nodeNetns(a.instance.id);
    const nsB = fabric.nodeNetns(b.instance.id);
    const primaryA = sim.world.eni(a.instance.primaryEniId).primaryIp;
    const primaryB = sim.world.eni(b.instance.primaryEniId).primaryIp;
    expect(pings(nsA, primaryB)).toBe(true);

    const ec2 = sdkClient(sim);
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: SUBNET_A, Groups: [SG_1] })))
      .NetworkInterface!;
    await ec2.send(
      new AttachNetworkInterfaceCommand({
        NetworkInterfaceId: eni.NetworkInterfaceId,
        InstanceId: b.instance.id,
        DeviceIndex: 1,
      }),
    );
    await sim.settle();
    const link = JSON.parse(ipn(nsB, '-j', 'link', 'show', 'eth1')) as { address: string }[];
    expect(link[0]?.address).toBe(eni.MacAddress);
    // As ipamd would: bring the ENI up with its address; then an address EC2 assigns to it, on the node.
    ipn(nsB, 'link', 'set', 'eth1', 'up');
    ipn(nsB, 'addr', 'add', `${eni.PrivateIpAddress!}/24`, 'dev', 'eth1');
    const got = await ec2.send(
      new AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: eni.NetworkInterfaceId,
        SecondaryPrivateIpAddressCount: 1,
      }),
    );
    const secondary = got.AssignedPrivateIpAddresses![0]!.PrivateIpAddress!;
    ipn(nsB, 'addr', 'add', `${secondary}/32`, 'dev', 'eth1');
    fabric.sync();
    expect(pings(nsA, eni.PrivateIpAddress!)).toBe(true);
    expect(pings(nsA, secondary)).toBe(true);
    await ec2.send(
      new UnassignPrivateIpAddressesCommand({
        NetworkInterfaceId: eni.NetworkInterfaceId,
        PrivateIpAddresses: [secondary],
      }),
    );
    fabric.sync();
    expect(pings(nsA, secondary)).toBe(false); // EC2 no longer routes it to that ENI

    expect(pings(nsA, OUTSIDE_IP, primaryA)).toBe(true);
    expect(pings(nsB, OUTSIDE_IP, eni.PrivateIpAddress!)).toBe(false); // not a primary address: no way back

    const att = (
      await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni.NetworkInterfaceId!] }))
    ).NetworkInterfaces![0]!.Attachment!.AttachmentId!;
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: att }));
    await sim.settle();
    expect(() => ipn(nsB, 'link', 'show', 'eth1')).toThrow();
    ec2.destroy();

    const mine = [nsA, nsB, fabric.fabricNs, fabric.outsideNs];
    fabric.destroy();
    fabric = undefined;
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(mine.filter((ns) => left.includes(ns))).toEqual([]);
  });
});
