// Pods created by a real containerd (CRI, as kubelet does) on a simulated node: containerd runs aws-cni, which
// gets addresses from the real aws-k8s-agent; pods reach each other; StopPodSandbox + RemovePodSandbox (two DELs,
// the second with an empty CNI_NETNS) leave no veth, route or allocation behind.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpamdProcess } from './static-ipamd.js';
import { addNetns, inNetns, removeAllNetns } from './test-netns.js';
import { CriClient, PrivateContainerd } from './index.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const AWS_CNI = join(ROOT, 'dist/bin/aws-cni');
const AGENT = join(ROOT, 'dist/bin/aws-k8s-agent');
const CNI_DIR = '/usr/lib/cni';
const ready =
  existsSync(AWS_CNI) &&
  existsSync(AGENT) &&
  existsSync('/usr/bin/containerd') &&
  existsSync(join(CNI_DIR, 'loopback'));

describe.skipIf(!ready)('containerd creates pods through aws-cni (CRI)', () => {
  const work = mkdtempSync(join(tmpdir(), 'vct-cri-'));
  const binDir = join(work, 'bin');
  const confDir = join(work, 'net.d');
  let node = '';
  let ipamd: IpamdProcess;
  let containerd: PrivateContainerd;
  let cri: CriClient;

  beforeAll(async () => {
    node = addNetns('cri');
    inNetns(node, [
      'ip',
      'link',
      'add',
      'eth0',
      'address',
      '02:42:0a:00:00:05',
      'type',
      'veth',
      'peer',
      'name',
      'up0',
    ]);
    inNetns(node, ['ip', 'addr', 'add', '10.0.0.5/24', 'dev', 'eth0']);
    inNetns(node, ['ip', 'link', 'set', 'eth0', 'up']);
    inNetns(node, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    ipamd = new IpamdProcess(AGENT, [
      {
        id: 'eni-0primary',
        deviceNumber: 0,
        ips: ['10.0.1.10', '10.0.1.11', '10.0.1.12', '10.0.1.13'],
        reserve: [],
        mac: '02:42:0a:00:00:05',
        primaryIp: '10.0.0.5',
        vpcCidrs: ['10.0.0.0/16'],
      },
    ]);
    await ipamd.start(node);
    mkdirSync(binDir);
    mkdirSync(confDir);
    copyFileSync(AWS_CNI, join(binDir, 'aws-cni'));
    for (const p of ['loopback', 'portmap']) copyFileSync(join(CNI_DIR, p), join(binDir, p));
    writeFileSync(
      join(confDir, '10-aws.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'aws-cni',
        plugins: [
          {
            name: 'aws-cni',
            type: 'aws-cni',
            vethPrefix: 'eni',
            mtu: '9001',
            podSGEnforcingMode: 'strict',
            pluginLogFile: join(work, 'plugin.log'),
            pluginLogLevel: 'Debug',
            ipamdEndpoint: `unix://${ipamd.socket}`,
            capabilities: { 'io.kubernetes.cri.pod-annotations': true },
          },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        ],
      }),
    );
    containerd = new PrivateContainerd({
      nodeNs: node,
      cniBinDir: binDir,
      cniConfDir: confDir,
      cacheDir: join(ROOT, 'dist/cache'),
    });
    await containerd.start();
    cri = new CriClient(containerd.socket);
  });

  afterAll(async () => {
    cri?.close();
    await containerd?.stop();
    await ipamd?.stop();
    removeAllNetns();
    rmSync(work, { recursive: true, force: true });
  });

  it('RunPodSandbox wires pods with VPC addresses from ipamd; they reach each other; two DELs clean up', async () => {
    expect((await cri.version()).runtime_name).toBe('containerd');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(await cri.runPodSandbox({ name: `web-${i}`, namespace: 'default', uid: `uid-${i}` }));
    const pods = await Promise.all(ids.map((id) => cri.status(id)));
    expect(pods.map((p) => p.ip).sort()).toEqual(['10.0.1.10', '10.0.1.11', '10.0.1.12']);
    expect(new Set(ipamd.allocations().keys())).toEqual(new Set(pods.map((p) => p.ip)));
    for (const from of pods)
      for (const to of pods)
        if (from !== to)
          execFileSync('nsenter', [`--net=/proc/${from.pid}/ns/net`, 'ping', '-c', '1', '-W', '2', to.ip], {
            stdio: 'ignore',
          });
    const veths = () =>
      inNetns(node, ['ip', '-o', 'link', 'show'])
        .split('\n')
        .filter((l) => /: eni[0-9a-f]{11}@/.test(l));
    expect(veths()).toHaveLength(3);
    for (const id of ids) {
      await cri.stopPodSandbox(id); // DEL with the netns
      await cri.removePodSandbox(id); // DEL with CNI_NETNS empty
    }
    expect(veths()).toEqual([]);
    expect(ipamd.allocations().size).toBe(0);
    expect(
      inNetns(node, ['ip', '-4', 'route', 'show'])
        .split('\n')
        .filter((l) => / dev eni/.test(l)),
    ).toEqual([]);
  });
});
