// aws-cni executed as containerd would, against a canned ipamd, in throwaway netns; state checked with ip -j.
import { describe, expect, it } from 'vitest';
import { GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import { execFileSync } from 'node:child_process';
import { delNetns, ipj, runPlugin } from './harness.js';
import {
  HAS_VLAN,
  conf,
  env,
  hostLinks,
  hostNs,
  ipamd,
  newPod,
  rules,
  trunkIndex,
} from './plugin-fixture.js';

describe('aws-cni in throwaway netns', () => {
  it('primary-ENI IPv4 pod: ADD wires both netns, CHECK passes, DEL twice leaves nothing', async () => {
    const pod = newPod();
    ipamd.onAdd = () => ({
      IPAllocationMetadata: [{ IPv4Addr: '10.0.1.23', DeviceNumber: 0, RouteTableId: 254 }],
    });
    const add = await runPlugin(hostNs, env('ADD', 'c-primary', pod.path, 'nginx'), JSON.stringify(conf()));
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.json).toEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'enic440f455693' },
        { name: 'eth0', mac: '254', sandbox: pod.path },
        { name: 'dummyc440f455693', mac: '0', sandbox: '0' },
      ],
      ips: [{ interface: 1, address: '10.0.1.23/32' }],
    });
    expect(ipamd.adds.at(-1)).toMatchObject({
      K8S_POD_NAME: 'nginx',
      K8S_POD_NAMESPACE: 'default',
      K8S_POD_INFRA_CONTAINER_ID: 'c-primary',
      Netns: pod.path,
      IfName: 'eth0',
      NetworkName: 'aws-cni',
      ContainerID: 'c-primary',
      RequiresMultiNICAttachment: false,
    });
    // pod side
    const eth0 = ipj<{ mtu: number; operstate: string; addr_info: { local: string; prefixlen: number }[] }>(
      pod.name,
      ['addr', 'show', 'eth0'],
    )[0];
    expect(eth0?.mtu).toBe(9001);
    expect(eth0?.addr_info.filter((a) => a.local === '10.0.1.23').map((a) => a.prefixlen)).toEqual([32]);
    const podRoutes = ipj<{ dst: string; gateway?: string; dev: string; scope?: string }>(pod.name, [
      'route',
      'show',
    ]);
    expect(podRoutes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: '169.254.1.1', dev: 'eth0' }),
        expect.objectContaining({ dst: '169.254.1.1', dev: 'eth0', scope: 'link' }),
      ]),
    );
    const hostMac = ipj<{ address: string }>(hostNs, ['link', 'show', 'enic440f455693'])[0]?.address;
    const neigh = ipj<{ dst: string; lladdr: string; state: string[] }>(pod.name, [
      'neigh',
      'show',
      'dev',
      'eth0',
    ]);
    expect(neigh).toEqual([
      expect.objectContaining({ dst: '169.254.1.1', lladdr: hostMac, state: ['PERMANENT'] }),
    ]);
    // host side
    expect(ipj(hostNs, ['route', 'show', '10.0.1.23'])).toEqual([
      expect.objectContaining({ dst: '10.0.1.23', dev: 'enic440f455693', scope: 'link' }),
    ]);
    expect(rules().filter((r) => r.dst === '10.0.1.23')).toEqual([
      expect.objectContaining({ priority: 512, table: 'main' }),
    ]);
    expect(rules().some((r) => r.priority === 1536)).toBe(false);
    expect(
      execFileSync(
        'ip',
        ['netns', 'exec', hostNs, 'cat', '/proc/sys/net/ipv6/conf/enic440f455693/accept_ra'],
        { encoding: 'utf8' },
      ).trim(),
    ).toBe('0');

    const check = await runPlugin(
      hostNs,
      env('CHECK', 'c-primary', pod.path, 'nginx'),
      JSON.stringify(conf({ prevResult: add.json })),
    );
    expect(check.code).toBe(0);

    // CHECK reports each mismatch precisely
    const checkConf = JSON.stringify(conf({ prevResult: add.json }));
    execFileSync('ip', ['-n', hostNs, 'rule', 'del', 'pref', '512', 'to', '10.0.1.23/32']);
    const c1 = await runPlugin(hostNs, env('CHECK', 'c-primary', pod.path, 'nginx'), checkConf);
    expect(c1.json).toMatchObject({ code: 999, msg: 'CHECK: rule 512: to 10.0.1.23 lookup main is missing' });
    execFileSync('ip', ['-n', pod.name, 'addr', 'del', '10.0.1.23/32', 'dev', 'eth0']);
    const c2 = await runPlugin(hostNs, env('CHECK', 'c-primary', pod.path, 'nginx'), checkConf);
    expect(c2.json).toMatchObject({ code: 999, msg: 'CHECK: address 10.0.1.23 is missing on eth0' });
    const c3 = await runPlugin(
      hostNs,
      env('CHECK', 'c-primary', pod.path, 'nginx'),
      JSON.stringify(conf({ cniVersion: '0.3.1', prevResult: add.json })),
    );
    expect(c3.json).toMatchObject({ code: 1, msg: 'config version does not allow CHECK' });

    // DEL on StopPodSandbox: ipamd returns the allocation, host rules and route go
    ipamd.onDel = () => ({
      IPAllocationMetadata: [{ IPv4Addr: '10.0.1.23', DeviceNumber: 0, RouteTableId: 254 }],
    });
    const del = await runPlugin(
      hostNs,
      env('DEL', 'c-primary', pod.path, 'nginx'),
      JSON.stringify(conf({ prevResult: add.json })),
    );
    expect(del).toMatchObject({ code: 0, stdout: '' });
    expect(ipamd.dels.at(-1)).toMatchObject({
      Reason: 'PodDeleted',
      K8S_POD_UID: 'uid-c-primary',
      ContainerID: 'c-primary',
    });
    expect(rules().filter((r) => r.dst === '10.0.1.23')).toEqual([]);
    expect(ipj(hostNs, ['route', 'show', '10.0.1.23'])).toEqual([]);
    // DEL on RemovePodSandbox: empty netns, no prevResult, ipamd no longer knows the pod
    ipamd.onDel = () => new RpcError(GrpcStatus.UNKNOWN, 'datastore: unknown pod', 'DelNetwork');
    const del2 = await runPlugin(hostNs, env('DEL', 'c-primary', '', 'nginx'), JSON.stringify(conf()));
    expect(del2).toMatchObject({ code: 0, stdout: '' });
  });

  it('secondary-ENI pod gets the prio-1536 rule to its table; DEL with the netns gone removes it', async () => {
    const pod = newPod();
    ipamd.onAdd = () => ({
      IPAllocationMetadata: [{ IPv4Addr: '10.0.2.7', DeviceNumber: 2, RouteTableId: 3 }],
    });
    const add = await runPlugin(
      hostNs,
      env('ADD', 'c-sec', pod.path, 'sec'),
      JSON.stringify(conf({ cniVersion: '0.4.0' })),
    );
    expect(add.code).toBe(0);
    expect(add.json?.['ips']).toEqual([{ version: '4', interface: 1, address: '10.0.2.7/32' }]);
    expect(rules().filter((r) => r.src === '10.0.2.7')).toEqual([
      expect.objectContaining({ priority: 1536, table: '3' }),
    ]);
    delNetns(pod.name);
    ipamd.onDel = () => ({
      IPAllocationMetadata: [{ IPv4Addr: '10.0.2.7', DeviceNumber: 2, RouteTableId: 3 }],
    });
    const del = await runPlugin(
      hostNs,
      env('DEL', 'c-sec', pod.path, 'sec'),
      JSON.stringify(conf({ cniVersion: '0.4.0', prevResult: add.json })),
    );
    expect(del.code).toBe(0);
    expect(rules().filter((r) => r.src === '10.0.2.7' || r.dst === '10.0.2.7')).toEqual([]);
  });

  it('IPv6 multi-NIC pod: eth0 + mNicIf1 each with its /128, pod rule into table 1, host rules into 254 and 10100; DEL leaves nothing', async () => {
    const pod = newPod();
    const [a0, a1] = ['2600:1f14:abc:de01:1::5', '2600:1f14:abc:de01:2::7'];
    const meta = [
      { IPv6Addr: a0, DeviceNumber: 0, RouteTableId: 254 },
      { IPv6Addr: a1, DeviceNumber: 0, RouteTableId: 10100 },
    ];
    ipamd.onAdd = () => ({ IPAllocationMetadata: meta, VPCv6CIDRs: ['2600:1f14:abc:de00::/56'] });
    const add = await runPlugin(hostNs, env('ADD', 'c-mnic6', pod.path, 'mnic6'), JSON.stringify(conf()));
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.json?.['ips']).toEqual([
      { interface: 1, address: `${a0}/128` },
      { interface: 3, address: `${a1}/128` },
    ]);
    const [veth0, veth1] = [
      (add.json?.['interfaces'] as { name: string }[])[0]!.name,
      (add.json?.['interfaces'] as { name: string }[])[2]!.name,
    ];
    // pod side: one address per interface, each interface's default route through its own gateway
    const addrs = ipj<{ ifname: string; addr_info: { local: string; scope: string; tentative?: boolean }[] }>(
      pod.name,
      ['-6', 'addr', 'show'],
    );
    const global = (dev: string) =>
      addrs
        .find((l) => l.ifname === dev)
        ?.addr_info.filter((a) => a.scope === 'global')
        .map((a) => a.local);
    expect(global('eth0')).toEqual([a0]);
    expect(global('mNicIf1')).toEqual([a1]);
    expect(addrs.flatMap((l) => l.addr_info).some((a) => a.tentative)).toBe(false); // DAD waited for
    expect(ipj(pod.name, ['-6', 'route', 'show', 'default'])).toEqual([
      expect.objectContaining({ gateway: 'fe80::1', dev: 'eth0' }),
    ]);
    expect(ipj(pod.name, ['-6', 'route', 'show', 'table', '1'])).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: 'fe80::2', dev: 'mNicIf1' }),
        expect.objectContaining({ dst: 'fe80::2', dev: 'mNicIf1' }),
      ]),
    );
    expect(
      ipj<{ priority: number; src?: string; table: string }>(pod.name, ['-6', 'rule', 'show']).filter(
        (r) => r.src === a1,
      ),
    ).toEqual([expect.objectContaining({ priority: 1, table: '1' })]);
    // host side: a route to each address through its veth, the 512 rule for both, 1536 into card 1's table
    expect(ipj(hostNs, ['-6', 'route', 'show', a0])).toEqual([expect.objectContaining({ dev: veth0 })]);
    expect(ipj(hostNs, ['-6', 'route', 'show', a1])).toEqual([expect.objectContaining({ dev: veth1 })]);
    const v6 = () => rules('-6').filter((r) => r.src === a0 || r.dst === a0 || r.src === a1 || r.dst === a1);
    expect(
      v6()
        .map((r) => [r.priority, r.priority === 512 ? r.dst : r.src, r.table])
        .sort(),
    ).toEqual(
      [
        [512, a0, 'main'],
        [512, a1, 'main'],
        [1536, a1, '10100'],
      ].sort(),
    );
    // traffic from each address leaves through its own interface (the host answers from an address of its own)
    const hostAddr = '2600:1f14:abc:de99::1';
    execFileSync('ip', ['-n', hostNs, 'addr', 'add', `${hostAddr}/128`, 'dev', 'lo']);
    const rx = (dev: string) =>
      ipj<{ stats64: { rx: { packets: number } } }>(hostNs, ['-s', 'link', 'show', dev])[0]!.stats64.rx
        .packets;
    for (const [from, via, other] of [
      [a1, veth1, veth0],
      [a0, veth0, veth1],
    ] as const) {
      const before = [rx(via), rx(other)];
      execFileSync(
        'ip',
        ['netns', 'exec', pod.name, 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', '-I', from, hostAddr],
        {
          stdio: 'ignore',
        },
      );
      expect(rx(via) - before[0]!).toBeGreaterThanOrEqual(3);
      expect(rx(other) - before[1]!).toBeLessThan(3);
    }
    execFileSync('ip', ['-n', hostNs, 'addr', 'del', `${hostAddr}/128`, 'dev', 'lo']);

    ipamd.onDel = () => ({ IPAllocationMetadata: meta });
    const del = await runPlugin(
      hostNs,
      env('DEL', 'c-mnic6', pod.path, 'mnic6'),
      JSON.stringify(conf({ prevResult: add.json })),
    );
    expect(del).toMatchObject({ code: 0, stdout: '' });
    expect(v6()).toEqual([]);
    expect(ipj(hostNs, ['-6', 'route', 'show', a0])).toEqual([]);
    expect(ipj(hostNs, ['-6', 'route', 'show', a1])).toEqual([]);
  });

  it('GC: ipamd releases what is not a valid attachment and the host routes/rules of those addresses go', async () => {
    const pod = newPod();
    ipamd.onAdd = () => ({
      IPAllocationMetadata: [{ IPv4Addr: '10.0.3.9', DeviceNumber: 2, RouteTableId: 3 }],
    });
    const add = await runPlugin(hostNs, env('ADD', 'c-gc', pod.path, 'gc'), JSON.stringify(conf()));
    expect(add.code).toBe(0);
    expect(rules().filter((r) => r.src === '10.0.3.9' || r.dst === '10.0.3.9')).toHaveLength(2);
    delNetns(pod.name); // the runtime lost the pod: no DEL will come
    ipamd.onGc = () => ({ Released: [{ ContainerID: 'c-gc', IfName: 'eth0', IPv4Addr: '10.0.3.9' }] });
    const gcEnv = { CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' };
    const valid = [{ containerID: 'c-other', ifname: 'eth0' }];
    const gc = await runPlugin(
      hostNs,
      gcEnv,
      JSON.stringify(conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid })),
    );
    expect(gc.code).toBe(0);
    expect(ipamd.gcs.at(-1)).toMatchObject({
      NetworkName: 'aws-cni',
      ValidAttachments: [{ ContainerID: 'c-other', IfName: 'eth0' }],
    });
    expect(rules().filter((r) => r.src === '10.0.3.9' || r.dst === '10.0.3.9')).toEqual([]);
    expect(ipj<{ dst: string }>(hostNs, ['route', 'show']).map((r) => r.dst)).not.toContain('10.0.3.9');
    ipamd.onGc = undefined;
    const old = await runPlugin(hostNs, gcEnv, JSON.stringify(conf({ cniVersion: '1.1.0' })));
    expect(old.code).toBe(0); // an upstream ipamd (no GC service): nothing to collect, not an error
  });

  // Branch-ENI pods on a kernel with 802.1Q: branch-pod.guest.ts, run by branch-pod.kernel.test.ts.
  it.skipIf(HAS_VLAN)(
    'a branch-ENI pod on a kernel without 802.1Q fails with that cause, rolled back, address released',
    async () => {
      const pod = newPod();
      ipamd.onAdd = () => ({
        IPAllocationMetadata: [{ IPv4Addr: '10.0.32.59', DeviceNumber: -1, RouteTableId: 0 }],
        PodVlanId: 9,
        PodENIMAC: '0a:00:00:00:00:09',
        PodENISubnetGW: '10.0.32.1',
        ParentIfIndex: trunkIndex,
      });
      ipamd.onDel = () => ({});
      const before = ipamd.dels.length;
      const add = await runPlugin(hostNs, env('ADD', 'c-novlan', pod.path, 'novlan'), JSON.stringify(conf()));
      expect(add.code).toBe(1);
      expect(add.json).toMatchObject({
        code: 999,
        msg: expect.stringMatching(/cannot create VLAN links.*modprobe 8021q/),
      });
      expect(ipamd.dels.slice(before)).toEqual([
        expect.objectContaining({ Reason: 'SetupNSFailed', ContainerID: 'c-novlan' }),
      ]);
      expect(hostLinks().filter((l) => l.startsWith('vlan'))).toEqual([]);
      expect(ipj(pod.name, ['link', 'show']).map((l) => l['ifname'])).toEqual(['lo']);
      expect(rules().filter((r) => r.priority === 10 || r.dst === '10.0.32.59')).toEqual([]);
    },
  );
});
