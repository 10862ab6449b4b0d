// IPv6 pods, concurrency, DEL with ipamd down, and chaining with Debian's portmap for every cniVersion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { FakeIpamd, addNetns, delNetns, ipj, runPlugin, uniq } from './harness.js';

const hostNs = uniq('cnih');
const pods: string[] = [];
const ipamd = new FakeIpamd();

function newPod(): { name: string; path: string } {
  const name = uniq('cnip');
  pods.push(name);
  return { name, path: addNetns(name) };
}
const conf = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: 'aws-cni',
  type: 'aws-cni',
  pluginLogFile: `${ipamd.dir}/plugin.log`,
  ipamdEndpoint: `unix://${ipamd.socket}`,
  ...extra,
});
const env = (command: string, cid: string, netns: string, pod: string) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: cid,
  CNI_NETNS: netns,
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/usr/lib/cni',
  CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=${cid}`,
});
type Rule = { priority: number; src?: string; dst?: string; table: string };

beforeAll(async () => {
  addNetns(hostNs);
  await ipamd.start();
});
afterAll(async () => {
  for (const p of pods) delNetns(p);
  delNetns(hostNs);
  await ipamd.stop();
});

describe('aws-cni more pod kinds and runtime behaviour', () => {
  it('IPv6 pod: /128, fe80::1 gateway, DAD finished, host /128 route and -6 rule', async () => {
    const pod = newPod();
    ipamd.onAdd = () => ({
      IPAllocationMetadata: [{ IPv6Addr: '2001:db8:1:2::5', DeviceNumber: 0, RouteTableId: 254 }],
    });
    const add = await runPlugin(hostNs, env('ADD', 'c-v6', pod.path, 'v6'), JSON.stringify(conf()));
    expect(add.stdout).toContain('2001:db8:1:2::5/128');
    expect(add.code).toBe(0);
    const addrs =
      ipj<{ addr_info: { local: string; prefixlen: number; tentative?: boolean }[] }>(pod.name, [
        '-6',
        'addr',
        'show',
        'eth0',
      ])[0]?.addr_info ?? [];
    expect(addrs.find((a) => a.local === '2001:db8:1:2::5')).toMatchObject({ prefixlen: 128 });
    expect(addrs.some((a) => a.tentative)).toBe(false);
    expect(ipj(pod.name, ['-6', 'route', 'show', 'default'])).toEqual([
      expect.objectContaining({ gateway: 'fe80::1', dev: 'eth0' }),
    ]);
    expect(ipj(hostNs, ['-6', 'route', 'show', '2001:db8:1:2::5'])).toEqual([
      expect.objectContaining({ dev: expect.stringMatching(/^eni[0-9a-f]{11}$/) as unknown }),
    ]);
    expect(ipj<Rule>(hostNs, ['-6', 'rule', 'show']).filter((r) => r.dst === '2001:db8:1:2::5')).toEqual([
      expect.objectContaining({ priority: 512, table: 'main' }),
    ]);
    ipamd.onDel = () => ({ IPAllocationMetadata: [{ IPv6Addr: '2001:db8:1:2::5', RouteTableId: 254 }] });
    expect((await runPlugin(hostNs, env('DEL', 'c-v6', pod.path, 'v6'), JSON.stringify(conf()))).code).toBe(
      0,
    );
    expect(ipj<Rule>(hostNs, ['-6', 'rule', 'show']).filter((r) => r.dst === '2001:db8:1:2::5')).toEqual([]);
  });

  it('DEL with ipamd down cleans the host side from prevResult and answers 11 (address not released)', async () => {
    const pod = newPod();
    ipamd.onAdd = () => ({
      IPAllocationMetadata: [{ IPv4Addr: '10.0.3.3', DeviceNumber: 1, RouteTableId: 2 }],
    });
    const add = await runPlugin(hostNs, env('ADD', 'c-down', pod.path, 'down'), JSON.stringify(conf()));
    expect(add.code).toBe(0);
    const down = conf({ ipamdEndpoint: `unix://${ipamd.dir}/gone.sock`, prevResult: add.json });
    const del = await runPlugin(hostNs, env('DEL', 'c-down', pod.path, 'down'), JSON.stringify(down));
    expect(del.json).toMatchObject({ code: 11, details: expect.stringContaining('host side was cleaned') });
    expect(
      ipj<Rule>(hostNs, ['rule', 'show']).filter((r) => r.src === '10.0.3.3' || r.dst === '10.0.3.3'),
    ).toEqual([]);
    expect(ipj(hostNs, ['route', 'show', '10.0.3.3'])).toEqual([]);
  });

  it('20 concurrent ADDs for different pods all succeed with distinct veths', async () => {
    ipamd.onAdd = (req) => {
      const n = Number(req.ContainerID.split('-')[1]);
      return { IPAllocationMetadata: [{ IPv4Addr: `10.0.9.${n + 10}`, DeviceNumber: 0, RouteTableId: 254 }] };
    };
    const ps = Array.from({ length: 20 }, () => newPod());
    const runs = await Promise.all(
      ps.map((p, n) => runPlugin(hostNs, env('ADD', `cc-${n}`, p.path, `pod-${n}`), JSON.stringify(conf()))),
    );
    expect(runs.map((r) => r.code)).toEqual(Array(20).fill(0));
    const veths = ipj<{ ifname: string }>(hostNs, ['link', 'show', 'type', 'veth']).map((l) => l.ifname);
    expect(new Set(veths.filter((v) => v.startsWith('eni'))).size).toBeGreaterThanOrEqual(20);
    expect(
      ipj<Rule>(hostNs, ['rule', 'show']).filter((r) => r.priority === 512 && r.dst?.startsWith('10.0.9.'))
        .length,
    ).toBe(20);
  }, 120_000);

  it.each(['0.3.0', '0.3.1', '0.4.0', '1.0.0'])('portmap accepts our %s result as prevResult', async (v) => {
    const pod = newPod();
    const cid = `c-pm-${v.replaceAll('.', '')}`;
    ipamd.onAdd = () => ({
      IPAllocationMetadata: [{ IPv4Addr: '10.0.4.4', DeviceNumber: 0, RouteTableId: 254 }],
    });
    const add = await runPlugin(
      hostNs,
      env('ADD', cid, pod.path, `pm${v}`),
      JSON.stringify(conf({ cniVersion: v })),
    );
    expect(add.code).toBe(0);
    const pm = {
      cniVersion: v,
      name: 'aws-cni',
      type: 'portmap',
      capabilities: { portMappings: true },
      snat: true,
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
      prevResult: add.json,
    };
    const r = await runPlugin(hostNs, env('ADD', cid, pod.path, `pm${v}`), JSON.stringify(pm), [
      '/usr/lib/cni/portmap',
    ]);
    expect(r.stderr + r.stdout).not.toMatch(/"code"/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      cniVersion: v,
      ips: [expect.objectContaining({ address: '10.0.4.4/32' })],
    });
    const nat = execFileSync('ip', ['netns', 'exec', hostNs, 'iptables-save', '-t', 'nat'], {
      encoding: 'utf8',
    });
    expect(nat).toContain('--to-destination 10.0.4.4:80');
    const d = await runPlugin(hostNs, env('DEL', cid, pod.path, `pm${v}`), JSON.stringify(pm), [
      '/usr/lib/cni/portmap',
    ]);
    expect(d.code).toBe(0);
    ipamd.onDel = () => ({ IPAllocationMetadata: [{ IPv4Addr: '10.0.4.4', RouteTableId: 254 }] });
    expect(
      (
        await runPlugin(
          hostNs,
          env('DEL', cid, pod.path, `pm${v}`),
          JSON.stringify(conf({ cniVersion: v, prevResult: add.json })),
        )
      ).code,
    ).toBe(0);
  });
});
