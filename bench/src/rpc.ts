// `pnpm bench rpc`: 64 concurrent gRPC clients doing 10,000 AddNetwork+DelNetwork pairs against the real
// aws-k8s-agent (warm pool, real fsync of every checkpoint write). Last line:
// {"add_p50_ms","add_p99_ms","del_p50_ms","del_p99_ms","ops_per_s","littles_law_mean_ms","solo_add_p50_ms",
// "solo_add_p99_ms"}
// (solo_*: one client alone, 1,000 pairs, before the concurrent run).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CNIBackend, Health, RpcClient, ServingStatus } from '@vpc-cni/shared/rpc';

const ROOT = resolve(import.meta.dirname, '../..');
const PAIRS = Number(process.env['BENCH_PAIRS'] ?? 10_000);
const CLIENTS = 64;
const POOL = Array.from({ length: 250 }, (_, i) => `10.0.${1 + (i >> 8)}.${i & 255}`);
const dir = mkdtempSync(join(tmpdir(), 'vct-bench-rpc-'));
const socket = join(dir, 'ipamd.sock');

const child = spawn(join(ROOT, 'dist/bin/aws-k8s-agent'), [], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    PATH: process.env['PATH'] ?? '',
    VPC_CNI_STATIC_ENIS: JSON.stringify([{ id: 'eni-0aa', deviceNumber: 0, ips: POOL }]),
    VPC_CNI_IPAMD_SOCKET: socket,
    AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
    AWS_VPC_K8S_CNI_LOG_FILE: join(dir, 'ipamd.log'),
    AWS_VPC_K8S_CNI_LOGLEVEL: 'error',
    IP_COOLDOWN_PERIOD: '0',
    DISABLE_INTROSPECTION: 'true',
    VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
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

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN).toFixed(3));
};

try {
  for (let i = 0; ; i++) {
    const c = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 500 });
    try {
      if (
        (await c.call(Health.Check, { service: 'grpc.health.v1.aws-node' })).status === ServingStatus.SERVING
      )
        break;
    } catch {
      if (i > 400) throw new Error('aws-k8s-agent did not start');
    } finally {
      c.close();
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  // One client alone first: the latency a single CNI ADD sees, without queueing behind 63 others.
  const solo: number[] = [];
  {
    const c = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 10_000 });
    for (let n = 0; n < 1_000; n++) {
      const t = performance.now();
      await c.call(CNIBackend.AddNetwork, req(`solo-${n}`));
      solo.push(performance.now() - t);
      await c.call(CNIBackend.DelNetwork, { ...req(`solo-${n}`), Reason: 'PodDeleted', K8S_POD_UID: '' });
    }
    c.close();
  }
  const adds: number[] = [];
  const dels: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const c = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 10_000 });
      for (let n = next++; n < PAIRS; n = next++) {
        const id = `bench-${n}`;
        let t = performance.now();
        await c.call(CNIBackend.AddNetwork, req(id));
        adds.push(performance.now() - t);
        t = performance.now();
        await c.call(CNIBackend.DelNetwork, { ...req(id), Reason: 'PodDeleted', K8S_POD_UID: '' });
        dels.push(performance.now() - t);
      }
      c.close();
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  // CPU seconds of each side: where the time goes on this 2-core machine.
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const agentCpu = (Number(stat[11]) + Number(stat[12])) / 100;
  const own = process.cpuUsage();
  console.log(
    `cpu: agent ${agentCpu.toFixed(2)} s, clients ${((own.user + own.system) / 1e6).toFixed(2)} s, wall ${secs.toFixed(2)} s`,
  );
  console.log(`rpc: ${PAIRS} add+del pairs from ${CLIENTS} clients in ${secs.toFixed(2)} s`);
  console.log(
    JSON.stringify({
      add_p50_ms: pct(adds, 50),
      add_p99_ms: pct(adds, 99),
      del_p50_ms: pct(dels, 50),
      del_p99_ms: pct(dels, 99),
      ops_per_s: Math.round((2 * PAIRS) / secs),
      // Little's law for this closed loop: 64 calls always in flight, so the mean latency is 64 / throughput;
      // a p99 of 2 ms would need more than 32,000 calls/s.
      littles_law_mean_ms: Number(((CLIENTS * 1000 * secs) / (2 * PAIRS)).toFixed(3)),
      solo_add_p50_ms: pct(solo, 50),
      solo_add_p99_ms: pct(solo, 99),
    }),
  );
} finally {
  child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
