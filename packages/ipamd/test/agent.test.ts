// The agent in-process: gRPC over its unix socket, health, introspection and metrics shapes, restart from the
// checkpoint with an allocation whose address is gone (quarantined, not dropped).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, Health, RpcClient, ServingStatus } from '@vpc-cni/shared/rpc';
import { HEALTH_SERVICE, startAgent } from '../src/agent/index.js';
import { listenHttp } from '../src/http/index.js';

const AGENT = join(resolve(import.meta.dirname, '../../..'), 'dist/bin/aws-k8s-agent');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function env(dir: string, enis: unknown[]): Record<string, string> {
  return {
    VPC_CNI_STATIC_ENIS: JSON.stringify(enis),
    VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
    AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
    VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
  };
}

const ENIS = [
  { id: 'eni-0aa', deviceNumber: 0, ips: ['10.0.1.5', '10.0.1.6', '10.0.1.7'] },
  { id: 'eni-0bb', deviceNumber: 1, ips: ['10.0.2.5'] },
];

const addReq = (c: string) => ({
  ContainerID: c,
  IfName: 'eth0',
  NetworkName: 'aws-cni',
  K8S_POD_NAME: `pod-${c}`,
  K8S_POD_NAMESPACE: 'default',
  K8S_POD_INFRA_CONTAINER_ID: c,
  Netns: '/var/run/netns/x',
  ClientVersion: '',
  RequiresMultiNICAttachment: false,
});

describe('aws-k8s-agent', () => {
  it('serves AddNetwork on a 0660 unix socket, reports SERVING, and exposes introspection and metrics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vct-agent-'));
    dirs.push(dir);
    const agent = await startAgent(env(dir, ENIS), silentLogger);
    const client = new RpcClient({ endpoint: `unix://${join(dir, 'ipamd.sock')}` });
    try {
      expect(statSync(join(dir, 'ipamd.sock')).mode & 0o777).toBe(0o660);
      const health = await client.call(Health.Check, { service: HEALTH_SERVICE });
      expect(health.status).toBe(ServingStatus.SERVING);
      const replies = await Promise.all(
        ['a', 'b', 'c', 'd'].map((c) => client.call(CNIBackend.AddNetwork, addReq(c))),
      );
      expect(replies.map((r) => r.IPAllocationMetadata[0])).toEqual([
        { IPv4Addr: '10.0.1.5', IPv6Addr: '', DeviceNumber: 0, RouteTableId: 254 },
        { IPv4Addr: '10.0.1.6', IPv6Addr: '', DeviceNumber: 0, RouteTableId: 254 },
        { IPv4Addr: '10.0.1.7', IPv6Addr: '', DeviceNumber: 0, RouteTableId: 254 },
        { IPv4Addr: '10.0.2.5', IPv6Addr: '', DeviceNumber: 1, RouteTableId: 2 },
      ]);

      const enis = (await (
        await fetch(`http://127.0.0.1:${agent.introspectionPort}/v1/enis`)
      ).json()) as Record<
        string,
        { TotalIPs: number; AssignedIPs: number; ENIs: Record<string, Record<string, unknown>> }
      >;
      expect(enis['0']).toMatchObject({ TotalIPs: 4, AssignedIPs: 4 });
      const eni = enis['0']?.ENIs['eni-0aa'] as { AvailableIPv4Cidrs: Record<string, unknown> };
      expect(eni).toMatchObject({ ID: 'eni-0aa', IsPrimary: true, DeviceNumber: 0, RouteTableID: 254 });
      expect(eni.AvailableIPv4Cidrs['10.0.1.5/32']).toMatchObject({
        Cidr: { IP: '10.0.1.5', Mask: '/////w==' },
        IsPrefix: false,
        IPAddresses: {
          '10.0.1.5': {
            Address: '10.0.1.5',
            IPAMKey: { networkName: 'aws-cni', containerID: '', ifName: '' },
            IPAMMetadata: { k8sPodNamespace: 'default', k8sPodName: 'pod-a', interfacesCount: 1 },
          },
        },
      });
      const root = (await (await fetch(`http://127.0.0.1:${agent.introspectionPort}/`)).json()) as {
        AvailableCommands: string[];
      };
      expect(root.AvailableCommands).toEqual(
        expect.arrayContaining(['/v1/enis', '/v1/ipamd-env-settings', '/v1/errors']),
      );

      const text = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
      expect(text).toMatch(/^awscni_assigned_ip_addresses 4$/m);
      expect(text).toMatch(/^awscni_total_ip_addresses 4$/m);
      expect(text).toMatch(/^awscni_add_ip_req_count 4$/m);
      expect(text).toMatch(/^awscni_assigned_ip_per_eni\{eni="eni-0bb"\} 1$/m);
      expect(text).toMatch(/^# TYPE awscni_aws_api_latency_ms summary$/m);
    } finally {
      client.close();
      await agent.stop();
    }
  });

  it('restarts from its checkpoint; an allocation whose address left the node is quarantined and reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vct-agent-'));
    dirs.push(dir);
    const first = await startAgent(env(dir, ENIS), silentLogger);
    const c1 = new RpcClient({ endpoint: `unix://${join(dir, 'ipamd.sock')}` });
    for (const c of ['a', 'b', 'c', 'd']) await c1.call(CNIBackend.AddNetwork, addReq(c));
    c1.close();
    await first.stop();
    // eni-0bb is gone after the restart (e.g. detached meanwhile): its pod's allocation must survive.
    const second = await startAgent(env(dir, [ENIS[0]]), silentLogger);
    try {
      expect(second.ds.allocations().map((a) => [a.allocation.address, a.quarantined])).toEqual([
        ['10.0.1.5', false],
        ['10.0.1.6', false],
        ['10.0.1.7', false],
        ['10.0.2.5', true],
      ]);
      const errors = (await (
        await fetch(`http://127.0.0.1:${second.introspectionPort}/v1/errors`)
      ).json()) as {
        cause: string;
        remedy: string;
      }[];
      expect(errors[0]?.cause).toMatch(/10\.0\.2\.5 \(d\) is on no ENI/);
    } finally {
      await second.stop();
    }
  });

  it('a corrupt checkpoint is moved aside, reported in /v1/errors, and ipamd still starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vct-agent-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'ipam.json'), '{"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-c');
    const agent = await startAgent(env(dir, ENIS), silentLogger);
    try {
      expect(readdirSync(dir).filter((f) => f.startsWith('ipam.json.corrupt-'))).toHaveLength(1);
      const errors = (await (
        await fetch(`http://127.0.0.1:${agent.introspectionPort}/v1/errors`)
      ).json()) as {
        operation: string;
        remedy: string;
      }[];
      expect(errors[0]).toMatchObject({
        operation: 'checkpoint load',
        remedy: expect.stringMatching(/moved to .*corrupt-/),
      });
    } finally {
      await agent.stop();
    }
  });

  it.skipIf(!existsSync(AGENT))(
    'the executable shuts down cleanly on SIGTERM with its checkpoint flushed',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vct-agent-'));
      dirs.push(dir);
      const child = spawn(AGENT, [], {
        stdio: 'ignore',
        env: { PATH: process.env['PATH'] ?? '', ...env(dir, ENIS) },
      });
      const client = new RpcClient({ endpoint: `unix://${join(dir, 'ipamd.sock')}`, deadlineMs: 500 });
      try {
        for (let i = 0; i < 200; i++) {
          const ok = await client.call(Health.Check, { service: HEALTH_SERVICE }).then(
            (r) => r.status === ServingStatus.SERVING,
            () => false,
          );
          if (ok) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        await client.call(CNIBackend.AddNetwork, addReq('sig'));
      } finally {
        client.close();
      }
      child.kill('SIGTERM');
      const code = await new Promise((r) => child.once('exit', (c) => r(c)));
      expect(code).toBe(0);
      expect(readFileSync(join(dir, 'ipam.json'), 'utf8')).toContain('"containerID":"sig"');
    },
  );

  it('refuses a non-loopback HTTP bind unless configured on purpose', async () => {
    await expect(
      listenHttp('0.0.0.0:0', () => {}, { allowNonLoopback: false, what: 'introspection' }),
    ).rejects.toThrow(/refusing to serve introspection on non-loopback address "0.0.0.0:0"/);
  });
});
