// aws-network-policy-agent's start-up and gRPC side, with everything but the eBPF datapath real: node IP from the
// simulated IMDS, the mode from an ipamd ConfigServerBackend on a unix socket, PolicyEndpoints from the API
// stand-in, NPBackend called over the unix socket and loopback TCP by a gRPC client as the plugin does, health and
// metrics over HTTP. The datapath is the in-memory one (the kernel tests and e2e use the real one).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFlags } from '@vpc-cni/network-policy-agent/agent-flags';
import { FatalStartError, runAgent, type RunningAgent } from '@vpc-cni/network-policy-agent/agent-run';
import { hostVethName } from '@vpc-cni/network-policy-agent/agent-veth';
import { MemoryDatapath } from '@vpc-cni/network-policy-agent/test/memory-datapath';
import { silentLogger } from '@vpc-cni/shared/logging';
import { ConfigServerBackend, NPBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { RpcServer } from '@vpc-cni/shared/rpc-server';
import { KubeApiSim } from './index.js';
import { startSmall, SG_1, SUBNET_A } from '../sim/testkit.js';
import type { Sim } from '../sim/sim.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(mode: string) {
  const dir = mkdtempSync(join(tmpdir(), 'vct-npa-start-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const sim: Sim = await startSmall();
  cleanups.push(() => sim.stop());
  const node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
  const nodeIp = sim.world.eni(node.instance.primaryEniId).primaryIp;
  const kube = await KubeApiSim.start();
  cleanups.push(() => kube.stop());
  const ipamd = new RpcServer({ unixSocket: join(dir, 'ipamd.sock') });
  ipamd.addService(ConfigServerBackend, {
    GetNetworkPolicyConfigs: async () => ({
      NetworkPolicyMode: mode,
      MultiNICEnabled: false,
      NodeIPv4: '',
      NodeIPv6: '',
      InstanceID: '',
      Region: '',
    }),
  });
  await ipamd.start();
  cleanups.push(() => ipamd.stop(100));
  const env = {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: node.imdsUrl,
    KUBECONFIG: kube.writeKubeconfig(join(dir, 'kubeconfig')),
    MY_NODE_NAME: 'node-a',
  };
  const flags = (extra: string[] = []) =>
    parseFlags([
      '--enable-network-policy=true',
      `--npa-socket=${join(dir, 'npa.sock')}`,
      '--npa-tcp-address=127.0.0.1:0',
      `--ipamd-socket=${join(dir, 'ipamd.sock')}`,
      '--metrics-bind-addr=127.0.0.1:0',
      '--health-probe-bind-addr=127.0.0.1:0',
      `--bpffs-root=${dir}`,
      ...extra,
    ]);
  const dp = new MemoryDatapath();
  const veths = new Set<string>();
  const start = async (extra: string[] = []): Promise<RunningAgent> => {
    const a = await runAgent(flags(extra), {
      env,
      logger: silentLogger,
      openDatapath: () => dp,
      vethExists: (n) => veths.has(n),
    });
    cleanups.push(() => a.stop());
    return a;
  };
  return { dir, sim, node, nodeIp, kube, dp, veths, start, env, flags };
}

const client = (endpoint: string) => {
  const c = new RpcClient({ endpoint, deadlineMs: 5_000 });
  cleanups.push(() => c.close());
  return c;
};

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('aws-network-policy-agent start-up and NPBackend', () => {
  it('standard mode: ADD over the socket and over TCP, PE changes reprogram the pod, DEL unpins it', async () => {
    const w = await world('standard');
    w.kube.put(
      'networking.k8s.aws/policyendpoints',
      {
        metadata: { name: 'deny-in-abcde', namespace: 'shop' },
        spec: {
          policyRef: { name: 'deny-in', namespace: 'shop' },
          podIsolation: ['Ingress'],
          podSelectorEndpoints: [{ hostIP: w.nodeIp, podIP: '10.0.1.50', name: 'web-1', namespace: 'shop' }],
        },
      },
      'shop',
    );
    const agent = await w.start();
    w.veths.add(hostVethName('eni', 'shop', 'web-1'));
    w.veths.add(hostVethName('eni', 'shop', 'free-1'));
    const sock = client(`unix://${join(w.dir, 'npa.sock')}`);
    const req = {
      K8S_POD_NAME: 'web-1',
      K8S_POD_NAMESPACE: 'shop',
      NETWORK_POLICY_MODE: 'standard',
      InterfaceCount: 1,
    };
    expect(await sock.call(NPBackend.EnforceNpToPod, req)).toEqual({ Success: true });
    expect(w.dp.getState('web-1@shop', 'ingress', 'np')).toBe(0);
    expect([...w.dp.readPolicy('web-1@shop', 'ingress').keys()]).toEqual([`${w.nodeIp}/32`]);
    const tcp = client(`127.0.0.1:${agent.npaTcpPort}`);
    expect(await tcp.call(NPBackend.EnforceNpToPod, { ...req, K8S_POD_NAME: 'free-1' })).toEqual({
      Success: true,
    });
    expect(w.dp.getState('free-1@shop', 'ingress', 'np')).toBe(1);
    await expect(
      sock.call(NPBackend.EnforceNpToPod, { ...req, NETWORK_POLICY_MODE: 'lenient' }),
    ).rejects.toThrow(/Invalid Network Policy Mode "lenient"/);
    await expect(sock.call(NPBackend.EnforceNpToPod, { ...req, K8S_POD_NAME: 'no-veth' })).rejects.toThrow(
      /host veth of pod shop\/no-veth \(interface 0\) not found/,
    );
    const peKey = 'networking.k8s.aws/policyendpoints';
    w.kube.api.store.update(peKey, 'shop', 'deny-in-abcde', {
      ...w.kube.api.store.get(peKey, 'shop', 'deny-in-abcde'),
      spec: {
        policyRef: { name: 'deny-in', namespace: 'shop' },
        podIsolation: ['Ingress'],
        podSelectorEndpoints: [{ hostIP: w.nodeIp, podIP: '10.0.1.50', name: 'web-1', namespace: 'shop' }],
        ingress: [{ cidr: '10.0.7.0/24' }],
      },
    });
    await until('the new rule', () => w.dp.readPolicy('web-1@shop', 'ingress').has('10.0.7.0/24'));
    expect(
      await sock.call(NPBackend.DeletePodNp, { K8S_POD_NAME: 'web-1', K8S_POD_NAMESPACE: 'shop' }),
    ).toEqual({
      Success: true,
    });
    expect(w.dp.keys.has('web-1@shop')).toBe(false);

    const health = `http://127.0.0.1:${agent.healthPort}`;
    expect((await fetch(`${health}/healthz`)).status).toBe(200);
    const ready = await fetch(`${health}/readyz`);
    expect(ready.status).toBe(500); // the test's bpffs root is a plain directory without the global pins
    expect(await ready.text()).toMatch(
      /\[-\]bpf-maps failed: missing pins.*\n\[-\]bpf-fs failed: .* is not a bpffs mount/s,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
    for (const name of [
      'network_policy_drop_count_total',
      'network_policy_drop_bytes_total',
      'awsnodeagent_aws_ebpf_sdk_latency_ms',
      'awsnodeagent_aws_ebpfsdk_error_count',
      'awsnodeagent_policy_setup_latency_ms',
      'awsnodeagent_policy_teardown_latency_ms',
      'awsnodeagent_policy_programming_latency_seconds',
      'awsnodeagent_cluster_policy_programming_latency_seconds',
    ])
      expect(metrics).toContain(`# TYPE ${name} `);
  });

  it('strict mode: a new pod no policy selects is closed from its ADD', async () => {
    const w = await world('strict');
    await w.start();
    w.veths.add(hostVethName('eni', 'shop', 'd-1'));
    const sock = client(`unix://${join(w.dir, 'npa.sock')}`);
    await sock.call(NPBackend.EnforceNpToPod, {
      K8S_POD_NAME: 'd-1',
      K8S_POD_NAMESPACE: 'shop',
      NETWORK_POLICY_MODE: 'strict',
      InterfaceCount: 1,
    });
    expect(w.dp.calls[0]).toMatch(/^attach d-1@shop eni\w+ np=2$/);
    expect(w.dp.getState('d-1@shop', 'egress', 'np')).toBe(2);
  });

  it('fatal start-up failures name the cause; ipamd mode none or NP disabled answer every call with success', async () => {
    const empty = await world('');
    await expect(empty.start()).rejects.toThrow(
      /ipamd reports NETWORK_POLICY_ENFORCING_MODE=""; with --enable-network-policy=true it must be standard or strict/,
    );
    const noImds = await world('standard');
    await expect(
      runAgent(noImds.flags(), {
        env: { ...noImds.env, AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' },
        logger: silentLogger,
        openDatapath: () => noImds.dp,
      }),
    ).rejects.toThrow(FatalStartError);
    const noDatapath = await world('standard');
    await expect(
      runAgent(noDatapath.flags(), {
        env: noDatapath.env,
        logger: silentLogger,
        openDatapath: () => {
          throw new Error('bpffs not mounted at /sys/fs/bpf');
        },
      }),
    ).rejects.toThrow(/cannot open the eBPF datapath: bpffs not mounted/);
    const none = await world('none');
    await none.start();
    const sock = client(`unix://${join(none.dir, 'npa.sock')}`);
    const req = { K8S_POD_NAME: 'a', K8S_POD_NAMESPACE: 'b', NETWORK_POLICY_MODE: 'none', InterfaceCount: 1 };
    expect(await sock.call(NPBackend.EnforceNpToPod, req)).toEqual({ Success: true });
    expect(none.dp.calls).toEqual([]);
  });
});
