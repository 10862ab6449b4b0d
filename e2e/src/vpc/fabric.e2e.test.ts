// The VPC fabric with the AWS SDK driving the simulator: attaching an ENI makes eth<N> with its MAC appear in the
// node netns; addresses EC2 assigns are routed to it across the fabric (and stop being routed when unassigned);
// a node reaches the outside from its primary address only; detach removes the link; destroy leaves nothing.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  AssignPrivateIpAddressesCommand,
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
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

describe('VPC fabric security groups', () => {
  const SG_WEB = 'sg-03333333333333333';
  let sim: Sim;
  let fabric: VpcFabric | undefined;
  const servers: ChildProcess[] = [];
  afterAll(async () => {
    for (const s of servers) s.kill('SIGKILL');
    fabric?.destroy();
    await sim?.stop();
  });

  const serve = (ns: string, port: number) => {
    const s = spawn('ip', [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      `require('net').createServer((c)=>c.end('ok')).listen(${port});setTimeout(()=>process.exit(0),60000)`,
    ]);
    servers.push(s);
  };
  /** 'ok' = connected and read the answer; 'dropped' = no answer within 1 s; 'refused' = reset. */
  const connects = (ns: string, ip: string, port: number): 'ok' | 'dropped' | 'refused' => {
    try {
      execFileSync(
        'ip',
        [
          'netns',
          'exec',
          ns,
          process.execPath,
          '-e',
          `const s=require('net').connect({host:'${ip}',port:${port},timeout:1000});s.on('data',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(2))`,
        ],
        { stdio: 'ignore', timeout: 5_000 },
      );
      return 'ok';
    } catch (e) {
      return (e as { status?: number }).status === 1 ? 'dropped' : 'refused';
    }
  };

  it('enforces inbound rules per ENI, statefully; revoking a rule blocks only what it allowed', async () => {
    sim = await startSmall({
      securityGroups: [
        { id: SG_1, name: 'nodes' }, // rules not modelled: everything in
        {
          id: SG_WEB,
          name: 'web',
          ingress: [
            { protocol: 'tcp', fromPort: 80, toPort: 80, cidrs: ['10.0.0.0/16'], groups: [] },
            { protocol: 'icmp', fromPort: -1, toPort: -1, cidrs: [], groups: [SG_1] },
          ],
        },
      ],
    });
    fabric = VpcFabric.create(sim);
    const web = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_WEB] });
    const other = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    const nsWeb = fabric.nodeNetns(web.instance.id);
    const nsOther = fabric.nodeNetns(other.instance.id);
    const ipWeb = sim.world.eni(web.instance.primaryEniId).primaryIp;
    const ipOther = sim.world.eni(other.instance.primaryEniId).primaryIp;
    for (const [ns, port] of [
      [nsWeb, 80],
      [nsWeb, 81],
      [nsOther, 80],
    ] as const)
      serve(ns, port);
    await new Promise((r) => setTimeout(r, 500));
    fabric.sync();
    expect(fabric.sgError).toBeUndefined();

    expect(connects(nsOther, ipWeb, 80)).toBe('ok'); // tcp 80 from the VPC
    expect(connects(nsOther, ipWeb, 81)).toBe('dropped'); // no rule (a server listens there)
    expect(connects(nsWeb, ipWeb, 81)).toBe('ok'); // it does: the node itself reaches it
    expect(pings(nsOther, ipWeb)).toBe(true); // icmp from members of the nodes group
    expect(connects(nsWeb, ipOther, 80)).toBe('ok'); // the other ENI's group lets all in; replies pass back

    const ec2 = sdkClient(sim);
    const port80 = {
      GroupId: SG_WEB,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/16' }] }],
    };
    await ec2.send(new RevokeSecurityGroupIngressCommand(port80));
    fabric.sync();
    expect(connects(nsOther, ipWeb, 80)).toBe('dropped'); // blocked now
    expect(pings(nsOther, ipWeb)).toBe(true); // the other rule still holds
    expect(connects(nsWeb, ipOther, 80)).toBe('ok'); // connections the web node opens still get their replies

    await expect(ec2.send(new RevokeSecurityGroupIngressCommand(port80))).rejects.toMatchObject({
      name: 'InvalidPermission.NotFound',
    });
    await ec2.send(new AuthorizeSecurityGroupIngressCommand(port80));
    await expect(ec2.send(new AuthorizeSecurityGroupIngressCommand(port80))).rejects.toMatchObject({
      name: 'InvalidPermission.Duplicate',
    });
    fabric.sync();
    expect(connects(nsOther, ipWeb, 80)).toBe('ok');
    // Bad requests fail like EC2 and change nothing.
    await expect(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: SG_WEB,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 90, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/16' }] },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(
      ec2.send(new RevokeSecurityGroupIngressCommand({ ...port80, GroupId: 'sg-0aaaaaaaaaaaaaaaa' })),
    ).rejects.toMatchObject({ name: 'InvalidGroup.NotFound' });
    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [SG_WEB] }));
    expect(described.SecurityGroups?.[0]?.IpPermissions).toEqual([
      expect.objectContaining({
        IpProtocol: 'icmp',
        UserIdGroupPairs: [expect.objectContaining({ GroupId: SG_1 })],
      }),
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 80,
        ToPort: 80,
        IpRanges: [{ CidrIp: '10.0.0.0/16' }],
      }),
    ]);
    ec2.destroy();
  }, 60_000);
});
