// A policy lab: one simulated node namespace with pods wired as the CNI plugin wires them (host veth named
// eni<hash> in the node namespace, eth0 /32 in the pod namespace, 169.254.1.1 gateway), a private bpffs mount, the
// simulators the agent talks to (IMDS, an ipamd ConfigServerBackend, the Kubernetes stand-in), and the agent
// itself in this process with the real eBPF datapath run inside the node namespace. Probes are TCP connects
// from one pod namespace to another. Used by the kernel tests and `pnpm bench netpol-enforce`; everything is
// removed by stop(), also after a failure. Needs root and a build with the datapath (DATAPATH_AVAILABLE).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatapath, type OpenDatapath } from '@vpc-cni/network-policy-agent/agent-datapath';
import type { PolicyDatapath } from '@vpc-cni/network-policy-agent';
import { parseFlags } from '@vpc-cni/network-policy-agent/agent-flags';
import { runAgent, type RunningAgent } from '@vpc-cni/network-policy-agent/agent-run';
import { hostVethName } from '@vpc-cni/network-policy-agent/agent-veth';
import { silentLogger } from '@vpc-cni/shared/logging';
import { Netlink } from '@vpc-cni/shared/netlink';
import { ConfigServerBackend, NPBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { RpcServer } from '@vpc-cni/shared/rpc-server';
import { KubeApiSim } from '../kube/index.js';
import { SG_1, SUBNET_A, startSmall } from '../sim/testkit.js';
import type { Sim } from '../sim/sim.js';
import { inNetns } from './netns-datapath.js';

const ip = (...a: string[]): void => {
  execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
};
const nsExec = (ns: string, ...a: string[]) =>
  execFileSync('ip', ['netns', 'exec', ns, ...a], { stdio: 'ignore' });

import { Probers } from './lab-probers.js';
import { python, SCTP_RESPONDER, SERVER } from './lab-scripts.js';

export interface LabOptions {
  mode: 'standard' | 'strict';
  eventLogs?: boolean;
  /** Default: the real eBPF datapath. (The harness's own check uses an in-memory one: wiring only.) */
  openDatapath?: OpenDatapath;
  /** Several labs = several nodes of one cluster: share the EC2 simulator and the API stand-in (not stopped). */
  sim?: Sim;
  kube?: KubeApiSim;
  /** Node name (MY_NODE_NAME), default lab-node. */
  nodeName?: string;
  /** Pod addresses are 10.<podNet>.<i/250>.<i%250+2> (default 244); give each node of a cluster its own. */
  podNet?: number;
}

export interface LabPod {
  name: string;
  namespace: string;
  ns: string;
  ip: string;
  /** The source address its probers bind (endpoints sharing a namespace: the outside one, the node's). */
  bind?: string;
}

export class NetpolLab {
  readonly pods = new Map<string, LabPod>();
  private readonly children: ChildProcess[] = [];
  private readonly cleanups: (() => Promise<void> | void)[] = [];
  private readonly probers = new Probers(this.pods, this.children);
  agent!: RunningAgent;
  kube!: KubeApiSim;
  nodeIp = '';
  private npa!: RpcClient;
  private podCount = 0;
  private podNet = 244;
  private startAgent!: () => Promise<RunningAgent>;
  private datapath: PolicyDatapath | undefined;

  private constructor(
    readonly tag: string,
    readonly dir: string,
    readonly nodeNs: string,
  ) {}

  static async start(o: LabOptions): Promise<NetpolLab> {
    const tag = randomBytes(3).toString('hex');
    const lab = new NetpolLab(tag, mkdtempSync(join(tmpdir(), `npl-${tag}-`)), `npl-${tag}-node`);
    try {
      await lab.init(o);
      return lab;
    } catch (e) {
      await lab.stop();
      throw e;
    }
  }

  private async init(o: LabOptions): Promise<void> {
    const bpffs = join(this.dir, 'bpffs');
    mkdirSync(bpffs);
    execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
    this.cleanups.push(() => {
      execFileSync('umount', ['-l', bpffs]);
    });
    ip('netns', 'add', this.nodeNs);
    this.cleanups.push(() => ip('netns', 'del', this.nodeNs));
    const sim: Sim = o.sim ?? (await startSmall());
    if (!o.sim) this.cleanups.push(() => sim.stop());
    this.podNet = o.podNet ?? 244;
    const node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    this.nodeIp = sim.world.eni(node.instance.primaryEniId).primaryIp;
    // No dummy driver on every kernel: the node's primary interface is one end of a veth pair.
    ip('-n', this.nodeNs, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer');
    ip('-n', this.nodeNs, 'addr', 'add', `${this.nodeIp}/32`, 'dev', 'eth0');
    ip('-n', this.nodeNs, 'link', 'set', 'eth0', 'up');
    ip('-n', this.nodeNs, 'link', 'set', 'lo', 'up');
    nsExec(this.nodeNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
    if (o.kube) this.kube = o.kube;
    else {
      this.kube = await KubeApiSim.start();
      this.cleanups.push(() => this.kube.stop());
    }
    const ipamd = new RpcServer({ unixSocket: join(this.dir, 'ipamd.sock') });
    ipamd.addService(ConfigServerBackend, {
      GetNetworkPolicyConfigs: async () => ({
        NetworkPolicyMode: o.mode,
        MultiNICEnabled: false,
        NodeIPv4: this.nodeIp,
        NodeIPv6: '',
        InstanceID: node.instance.id,
        Region: 'us-west-2',
      }),
    });
    await ipamd.start();
    this.cleanups.push(() => ipamd.stop(100));
    const nodeNsPath = `/run/netns/${this.nodeNs}`;
    const nl = Netlink.open(nodeNsPath);
    this.cleanups.push(() => nl.close());
    const flags = parseFlags([
      '--enable-network-policy=true',
      `--enable-policy-event-logs=${o.eventLogs ?? false}`,
      `--npa-socket=${join(this.dir, 'npa.sock')}`,
      '--npa-tcp-address=',
      `--ipamd-socket=${join(this.dir, 'ipamd.sock')}`,
      '--metrics-bind-addr=127.0.0.1:0',
      '--health-probe-bind-addr=127.0.0.1:0',
      `--bpffs-root=${bpffs}`,
      '--conntrack-cache-cleanup-period=10',
    ]);
    const kubeconfig = this.kube.writeKubeconfig(join(this.dir, 'kubeconfig'));
    this.startAgent = () =>
      runAgent(flags, {
        env: {
          AWS_EC2_METADATA_SERVICE_ENDPOINT: node.imdsUrl,
          KUBECONFIG: kubeconfig,
          MY_NODE_NAME: o.nodeName ?? 'lab-node',
        },
        logger: silentLogger,
        openDatapath: (dpo) =>
          (this.datapath = inNetns(nodeNsPath, () => (o.openDatapath ?? openDatapath)(dpo))),
        vethExists: (n) => nl.link.find(n) !== undefined,
      });
    this.agent = await this.startAgent();
    this.cleanups.push(() => this.agent.stop());
    this.npa = new RpcClient({ endpoint: `unix://${join(this.dir, 'npa.sock')}`, deadlineMs: 10_000 });
    this.cleanups.push(() => this.npa.close());
  }

  /**
   * Wires a pod as the plugin does and starts a TCP server on `ports` (and UDP echo on `o.udp`) in it (no CNI
   * call: see enforce()). Probes name pods by `o.key` (default: the pod name).
   */
  addPod(
    name: string,
    namespace = 'x',
    ports: number[] = [80, 81],
    o: { key?: string; udp?: number[]; sctp?: number[] } = {},
  ): LabPod {
    const i = ++this.podCount;
    const pod: LabPod = {
      name,
      namespace,
      ns: `npl-${this.tag}-p${i}`,
      ip: `10.${this.podNet}.${Math.floor(i / 250)}.${(i % 250) + 2}`,
    };
    const host = hostVethName('eni', namespace, name);
    ip('netns', 'add', pod.ns);
    this.cleanups.push(() => ip('netns', 'del', pod.ns));
    ip('-n', this.nodeNs, 'link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.ns);
    ip('-n', this.nodeNs, 'link', 'set', host, 'up');
    ip('-n', this.nodeNs, 'route', 'add', `${pod.ip}/32`, 'dev', host);
    const mac = execFileSync('ip', ['-n', this.nodeNs, '-j', 'link', 'show', host], { encoding: 'utf8' });
    const hostMac = (JSON.parse(mac) as { address: string }[])[0]!.address;
    ip('-n', pod.ns, 'link', 'set', 'lo', 'up');
    ip('-n', pod.ns, 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0');
    ip('-n', pod.ns, 'link', 'set', 'eth0', 'up');
    ip('-n', pod.ns, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
    ip('-n', pod.ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
    ip('-n', pod.ns, 'neigh', 'add', '169.254.1.1', 'lladdr', hostMac, 'dev', 'eth0', 'nud', 'permanent');
    const server = spawn(
      'ip',
      ['netns', 'exec', pod.ns, process.execPath, '-e', SERVER, ports.join(','), (o.udp ?? []).join(',')],
      {
        stdio: 'ignore',
      },
    );
    this.children.push(server);
    if (o.sctp?.length) this.spawnIn(pod.ns, python(), '-S', '-c', SCTP_RESPONDER, o.sctp.join(','));
    this.pods.set(o.key ?? name, pod);
    return pod;
  }

  /** A process in a namespace of the lab, killed by stop(). */
  spawnIn(ns: string, ...cmd: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'ignore' });
    this.children.push(child);
    return child;
  }

  /** Runs `fn` at stop() (in reverse order of registration, before the namespaces go). */
  onStop(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /**
   * Stops the agent (as a restart of its process would: pins and attached programs stay) and starts a new one
   * with the same flags on the same bpffs; resolves once the new one serves.
   */
  async restartAgent(): Promise<void> {
    await this.agent.stop();
    this.agent = await this.startAgent();
  }

  /**
   * Cheap pods for scale runs: only the host side the agent attaches to (veth `eni<hash>` whose peer stays in the
   * node namespace, a /32 route); no pod namespace, no server, so they cannot be probed. Keyed `namespace/name`.
   */
  addHostVeths(pods: { name: string; namespace: string }[]): LabPod[] {
    const out: LabPod[] = [];
    const lines: string[] = [];
    for (const { name, namespace } of pods) {
      const i = ++this.podCount;
      const pod: LabPod = {
        name,
        namespace,
        ns: this.nodeNs,
        ip: `10.${this.podNet}.${Math.floor(i / 250)}.${(i % 250) + 2}`,
      };
      const host = hostVethName('eni', namespace, name);
      lines.push(
        `link add ${host} type veth peer name p${i}`,
        `link set ${host} up`,
        `route add ${pod.ip}/32 dev ${host}`,
      );
      this.pods.set(`${namespace}/${name}`, pod);
      out.push(pod);
    }
    // One `ip -batch` for all of them: hundreds of separate ip processes take minutes on a busy machine.
    execFileSync('ip', ['-n', this.nodeNs, '-batch', '-'], {
      input: `${lines.join('\n')}\n`,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    return out;
  }

  /**
   * Forgets every established flow of the agent's datapath (its conntrack map), so the next packets are judged
   * as new flows. ICMP has no ports: one entry per pair, and a ping in one direction makes later pings in the
   * other a reply; a test that wants fresh verdicts starts from here.
   */
  flushConntrack(): number {
    return this.datapath?.flushConntrack() ?? 0;
  }

  /** The plugin's EnforceNpToPod for a pod; returns the round-trip time in ms. */
  async enforce(name: string, mode: 'standard' | 'strict', namespace = 'x'): Promise<number> {
    const t = performance.now();
    const r = await this.npa.call(NPBackend.EnforceNpToPod, {
      K8S_POD_NAME: name,
      K8S_POD_NAMESPACE: namespace,
      NETWORK_POLICY_MODE: mode,
      InterfaceCount: 1,
    });
    if (!r.Success) throw new Error(`EnforceNpToPod ${namespace}/${name} answered Success=false`);
    return performance.now() - t;
  }

  async deletePod(name: string, namespace = 'x'): Promise<void> {
    await this.npa.call(NPBackend.DeletePodNp, { K8S_POD_NAME: name, K8S_POD_NAMESPACE: namespace });
  }

  /** A TCP connect from one pod to another (a refused connect counts as allowed: the packet got through). */
  probe(from: string, to: string, port = 80, timeoutMs = 700): boolean {
    return this.probers.probe(from, to, port, timeoutMs);
  }

  /** The cluster DNS Service (endpoint key) of `dns-*` and `name-*` probes (see Probers.probeMany). */
  useDns(serviceKey: string): void {
    this.probers.dnsService = serviceKey;
  }

  /** See Probers.probeMany. */
  probeMany(from: string, targets: { to: string; probe: string }[], timeoutMs = 500): Promise<boolean[]> {
    return this.probers.probeMany(from, targets, timeoutMs);
  }

  /** A long-running prober from one pod to another; `flips` holds [Date.now(), verdict] at every change. */
  watch(from: string, to: string, port = 80): { flips: [number, 'ok' | 'fail'][]; stop: () => void } {
    return this.probers.watch(from, to, port);
  }

  /** Writes (creates or replaces) a PolicyEndpoint in the stand-in, as the controller would. */
  putPolicyEndpoint(name: string, spec: Record<string, unknown>, namespace = 'x'): void {
    const key = 'networking.k8s.aws/policyendpoints';
    const obj = {
      apiVersion: 'networking.k8s.aws/v1alpha1',
      kind: 'PolicyEndpoint',
      metadata: {
        name,
        namespace,
        annotations: { 'networking.k8s.aws/last-change-trigger-time': new Date().toISOString() },
      },
      spec,
    };
    try {
      const cur = this.kube.api.store.get(key, namespace, name);
      this.kube.api.store.update(
        key,
        namespace,
        name,
        { ...cur, ...obj, metadata: { ...cur.metadata, ...obj.metadata } },
        false,
      );
    } catch {
      this.kube.api.store.create(key, namespace, obj);
    }
  }

  deletePolicyEndpoint(name: string, namespace = 'x'): void {
    this.kube.api.store.delete('networking.k8s.aws/policyendpoints', namespace, name);
  }

  /** podSelectorEndpoints entry of a lab pod. */
  endpoint(name: string): { hostIP: string; podIP: string; name: string; namespace: string } {
    const p = this.pods.get(name)!;
    return { hostIP: this.nodeIp, podIP: p.ip, name: p.name, namespace: p.namespace };
  }

  async stop(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    for (const c of this.cleanups.reverse()) {
      try {
        await c();
      } catch {
        // keep removing the rest
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Waits (bounded) for a condition checked by `probe`-style calls. */
export async function eventually(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
