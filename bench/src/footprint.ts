// `pnpm bench footprint`: memory a node pays for the DaemonSet. Starts the real aws-k8s-agent with 250 static
// addresses (no EC2, no host networking), assigns all 250 to pods over gRPC, lets it settle, and reads the
// process's RSS and anonymous memory from /proc. image_mib: the OCI archive of `pnpm image` when present
// (null otherwise); agent_rss_mib: the network policy agent, null until it exists in the executable.
// Last line: {"ipamd_rss_mib","ipamd_anon_mib","ipamd_idle_rss_mib","agent_rss_mib","image_mib"}
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CNIBackend, Health, RpcClient, ServingStatus } from '@vpc-cni/shared/rpc';

const ROOT = resolve(import.meta.dirname, '../..');
const PODS = 250;
const POOL = Array.from({ length: PODS }, (_, i) => `10.0.${1 + (i >> 8)}.${i & 255}`);
const dir = mkdtempSync(join(tmpdir(), 'vct-bench-footprint-'));
const socket = join(dir, 'ipamd.sock');
const mib = (kb: number): number => Math.round((kb / 1024) * 10) / 10;

/** VmRSS and RssAnon of a process, in KiB. */
function memory(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), anon: field('RssAnon') };
}

const child = spawn(join(ROOT, 'dist/bin/aws-k8s-agent'), [], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    PATH: process.env['PATH'] ?? '',
    ...(process.env['FOOTPRINT_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['FOOTPRINT_NODE_OPTIONS'] } : {}),
    VPC_CNI_STATIC_ENIS: JSON.stringify([{ id: 'eni-0aa', deviceNumber: 0, ips: POOL }]),
    VPC_CNI_IPAMD_SOCKET: socket,
    AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
    AWS_VPC_K8S_CNI_LOG_FILE: join(dir, 'ipamd.log'),
    AWS_VPC_K8S_CNI_LOGLEVEL: 'info',
    VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
  },
});

const req = (c: string) => ({
  ContainerID: c,
  IfName: 'eth0',
  NetworkName: 'aws-cni',
  K8S_POD_NAME: c,
  K8S_POD_NAMESPACE: 'bench',
  K8S_POD_INFRA_CONTAINER_ID: c,
  Netns: '',
  ClientVersion: '',
  RequiresMultiNICAttachment: false,
});

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
  for (let i = 0; ; i++) {
    const c = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 500 });
    try {
      if ((await c.call(Health.Check, { service: '' })).status === ServingStatus.SERVING) break;
    } catch {
      if (i > 800) throw new Error('aws-k8s-agent did not start');
    } finally {
      c.close();
    }
    await settle(25);
  }
  await settle(3_000);
  const idle = memory(child.pid as number);
  const c = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 10_000 });
  for (let n = 0; n < PODS; n++) {
    const r = await c.call(CNIBackend.AddNetwork, req(`pod-${n}`));
    if (!r.Success) throw new Error(`AddNetwork pod-${n} failed`);
  }
  c.close();
  await settle(5_000);
  const busy = memory(child.pid as number);
  const archive = join(ROOT, 'dist/image/vpc-cni-ts.oci.tar');
  console.log(
    JSON.stringify({
      ipamd_rss_mib: mib(busy.rss),
      ipamd_anon_mib: mib(busy.anon),
      ipamd_idle_rss_mib: mib(idle.rss),
      agent_rss_mib: null,
      image_mib: existsSync(archive) ? Math.round(statSync(archive).size / 1048576) : null,
    }),
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
