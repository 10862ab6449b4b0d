// One simulated EKS node for end-to-end runs: an instance of the EC2 simulator, its network namespace (given by the
// caller: the fabric, or a test's own), and the real aws-k8s-agent inside it in EC2 mode. Inside the node, IMDS
// answers at http://169.254.169.254 and EC2 at http://127.0.0.1:8080 (a proxy in the node netns forwards both to
// the simulator in this process over unix sockets): ipamd sees what it would see on EC2, and nothing of the
// simulation touches the root netns.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { variables } from '@vpc-cni/shared/config';
import { type NetnsProxy, bridgeToUnix, startNetnsProxy } from '../netproxy/index.js';
import type { KubeApiSim } from '../kube/index.js';
import type { Node, Sim } from '../sim/index.js';
import { AgentProcess } from './agent-process.js';
import { ImagePod, touch } from './image-pod.js';
import { PolicyAgentProcess } from './policy-agent.js';
import { ownedTempDir } from '../harness/owner.js';

export const NODE_IMDS_URL = 'http://169.254.169.254';
export const NODE_EC2_URL = 'http://127.0.0.1:8080';
export const NODE_KUBE_URL = 'http://127.0.0.1:6443';

export interface SimNodeOptions {
  sim: Sim;
  node: Node;
  /** Network namespace name of the node (in /var/run/netns). */
  netns: string;
  agentBinary: string;
  /** Extra ipamd environment (warm targets, prefix delegation, ...). */
  env?: Record<string, string>;
  /** The Kubernetes stand-in: reachable inside the node at 127.0.0.1:6443, KUBECONFIG and MY_NODE_NAME set. */
  kube?: { sim: KubeApiSim; nodeName: string };
  /**
   * Network policy enforcement (NETWORK_POLICY_ENFORCING_MODE for ipamd, which hands it to aws-cni): startAwsNode
   * then also runs the node's aws-network-policy-agent (policy-agent.ts) on a per-node socket and bpffs.
   */
  networkPolicy?: 'standard' | 'strict';
}

export class SimNode {
  readonly dir = ownedTempDir('vct-node-');
  readonly socket = join(this.dir, 'ipamd.sock');
  readonly checkpoint = join(this.dir, 'ipam.json');
  readonly log = join(this.dir, 'ipamd.log');
  /** The node's /opt/cni/bin and /etc/cni/net.d (aws-node mode installs into them). */
  readonly cniBinDir = join(this.dir, 'opt-cni-bin');
  readonly cniConfDir = join(this.dir, 'etc-cni-net.d');
  agent: AgentProcess | undefined;
  /** aws-network-policy-agent, with the networkPolicy option. */
  policyAgent: PolicyAgentProcess | undefined;
  /** The aws-node pod, in image mode (startAwsNodeFromImage). */
  imagePod: ImagePod | undefined;
  private readonly cleanups: (() => Promise<void> | void)[] = [];
  private proxy: NetnsProxy | undefined;

  constructor(readonly o: SimNodeOptions) {}

  get instanceId(): string {
    return this.o.node.instance.id;
  }

  get netnsPath(): string {
    return `/var/run/netns/${this.o.netns}`;
  }

  /** Environment of ipamd on this node (also for the aws-vpc-cni entrypoint). */
  agentEnv(): Record<string, string> {
    const sim = this.o.sim.envFor(this.instanceId);
    // What the aws-node DaemonSet manifest sets (e.g. WARM_PREFIX_TARGET=1, ENABLE_IPv4=true), then ours. Not
    // NETWORK_POLICY_ENFORCING_MODE: it makes aws-cni call the network policy agent, which a simulated node runs
    // only with the networkPolicy option (then the mode, and the agent's per-node socket for the conflist).
    const manifest = Object.fromEntries(
      Object.values(variables).flatMap((v) =>
        'manifest' in v && v.manifest !== undefined && v.name !== 'NETWORK_POLICY_ENFORCING_MODE'
          ? [[v.name, v.manifest]]
          : [],
      ),
    ) as Record<string, string>;
    return {
      ...manifest,
      AWS_EC2_ENDPOINT: NODE_EC2_URL,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: NODE_IMDS_URL,
      AWS_REGION: sim['AWS_REGION'] ?? 'us-west-2',
      AWS_ACCESS_KEY_ID: sim['AWS_ACCESS_KEY_ID'] ?? '',
      AWS_SECRET_ACCESS_KEY: sim['AWS_SECRET_ACCESS_KEY'] ?? '',
      VPC_CNI_IPAMD_SOCKET: this.socket,
      AWS_VPC_K8S_CNI_BACKING_STORE: this.checkpoint,
      AWS_VPC_K8S_CNI_LOG_FILE: this.log,
      AWS_VPC_K8S_CNI_LOGLEVEL: 'debug',
      DISABLE_INTROSPECTION: 'true',
      DISABLE_METRICS: 'true',
      ...(this.o.kube
        ? { KUBECONFIG: join(this.dir, 'kubeconfig'), MY_NODE_NAME: this.o.kube.nodeName }
        : {}),
      ...(this.o.networkPolicy
        ? {
            NETWORK_POLICY_ENFORCING_MODE: this.o.networkPolicy,
            VPC_CNI_NPA_SOCKET: join(this.dir, 'npa.sock'),
          }
        : {}),
      ...this.o.env,
    };
  }

  /** The endpoints inside the node netns. */
  async connect(): Promise<void> {
    const ec2Sock = join(this.dir, 'ec2.sock');
    const imdsSock = join(this.dir, 'imds.sock');
    this.cleanups.push(await bridgeToUnix(this.o.sim.ec2.server, ec2Sock));
    this.cleanups.push(await bridgeToUnix(this.o.node.imds.server, imdsSock));
    const ns = this.o.netns;
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', ns, 'addr', 'replace', '169.254.169.254/32', 'dev', 'lo']);
    const kube = this.o.kube;
    const kubeSock = join(this.dir, 'kube.sock');
    if (kube) {
      this.cleanups.push(await bridgeToUnix(kube.sim.api.server, kubeSock));
      // What the node sees: the stand-in at 127.0.0.1:6443.
      writeFileSync(
        join(this.dir, 'kubeconfig'),
        kube.sim.kubeconfigYaml().replace(kube.sim.url, NODE_KUBE_URL),
      );
    }
    this.proxy = await startNetnsProxy(this.netnsPath, [
      { host: '169.254.169.254', port: 80, unix: imdsSock },
      { host: '127.0.0.1', port: 8080, unix: ec2Sock },
      ...(kube ? [{ host: '127.0.0.1', port: 6443, unix: kubeSock }] : []),
    ]);
  }

  async startAgent(): Promise<AgentProcess> {
    if (!this.proxy) await this.connect();
    this.agent = new AgentProcess({
      binary: this.o.agentBinary,
      netnsPath: this.netnsPath,
      env: this.agentEnv(),
      socket: this.socket,
      log: this.log,
    });
    await this.agent.start();
    return this.agent;
  }

  /**
   * As the aws-node DaemonSet does it: the init container (aws-vpc-cni-init: installs the CNI executables, sets
   * sysctls for the primary interface found through IMDS), then the aws-vpc-cni entrypoint, which starts ipamd,
   * waits for it to serve and writes 10-aws.conflist. bpffs is not mounted here (the host's mount namespace).
   */
  async startAwsNode(): Promise<AgentProcess> {
    if (!this.proxy) await this.connect();
    const bin = dirname(this.o.agentBinary);
    mkdirSync(this.cniBinDir, { recursive: true });
    // What the node already has from its CNI plugins package.
    for (const p of ['loopback', 'portmap', 'host-local'])
      copyFileSync(join('/usr/lib/cni', p), join(this.cniBinDir, p));
    const env = {
      ...this.agentEnv(),
      VPC_CNI_SOURCE_BIN_DIR: bin,
      HOST_CNI_BIN_PATH: this.cniBinDir,
      HOST_CNI_CONFDIR_PATH: this.cniConfDir,
      VPC_CNI_MOUNT_BPFFS: 'false',
      AWS_VPC_K8S_PLUGIN_LOG_FILE: join(this.dir, 'plugin.log'),
      AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE: join(this.dir, 'egress-plugin.log'),
      AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE: join(this.dir, 'egress-plugin.log'),
    };
    // Asynchronously: the IMDS it reads is served by this very process.
    await promisify(execFile)('nsenter', [`--net=${this.netnsPath}`, join(bin, 'aws-vpc-cni-init')], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    });
    this.agent = new AgentProcess({
      binary: join(bin, 'aws-vpc-cni'),
      netnsPath: this.netnsPath,
      env,
      socket: this.socket,
      log: this.log,
      outputFile: join(this.dir, 'aws-node.out'),
    });
    await this.agent.start();
    const conflist = join(this.cniConfDir, '10-aws.conflist');
    for (let i = 0; i < 100 && !existsSync(conflist); i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(conflist))
      throw new Error(`aws-vpc-cni did not write ${conflist}; see ${this.dir}/aws-node.out`);
    if (this.o.networkPolicy) await this.startPolicyAgent();
    return this.agent;
  }

  /** The DaemonSet's aws-network-policy-agent container (needs ipamd serving: it asks ipamd for the mode). */
  async startPolicyAgent(): Promise<PolicyAgentProcess> {
    if (!this.o.kube) throw new Error('the network policy agent needs the Kubernetes stand-in (option kube)');
    const env = this.agentEnv();
    this.policyAgent = new PolicyAgentProcess({
      binary: join(dirname(this.o.agentBinary), 'aws-network-policy-agent'),
      netnsPath: this.netnsPath,
      dir: this.dir,
      ipamdSocket: this.socket,
      enableIpv6: env['ENABLE_IPv6'] === 'true',
      env: {
        MY_NODE_NAME: this.o.kube.nodeName,
        KUBECONFIG: join(this.dir, 'kubeconfig'),
        AWS_EC2_METADATA_SERVICE_ENDPOINT: NODE_IMDS_URL,
        AWS_EC2_ENDPOINT: NODE_EC2_URL,
        AWS_REGION: env['AWS_REGION'] ?? 'us-west-2',
        AWS_ACCESS_KEY_ID: env['AWS_ACCESS_KEY_ID'] ?? '',
        AWS_SECRET_ACCESS_KEY: env['AWS_SECRET_ACCESS_KEY'] ?? '',
      },
    });
    await this.policyAgent.start();
    return this.policyAgent;
  }

  /**
   * The aws-node pod from the image, as deployed (image-pod.ts): the node's containerd (socket given) runs the
   * manifest's init container, then its aws-node and aws-network-policy-agent containers, in this node's netns;
   * ready when each one's readiness probe passes and the conflist is written.
   */
  async startAwsNodeFromImage(ctrSocket: string, podName = 'aws-node-sim'): Promise<void> {
    if (!this.proxy) await this.connect();
    for (const d of [this.cniBinDir, this.cniConfDir, join(this.dir, 'log')])
      mkdirSync(d, { recursive: true });
    const pod = new ImagePod({
      ctrSocket,
      netnsPath: this.netnsPath,
      hostPaths: {
        'cni-bin-dir': this.cniBinDir,
        'cni-net-dir': this.cniConfDir,
        'log-dir': join(this.dir, 'log'),
        // The node's /var/run/aws-node is its state directory: ipamd's socket and checkpoint (agentEnv's paths)
        // are where the manifest's probe and the host side expect them.
        'run-dir': this.dir,
        'xtables-lock': touch(join(this.dir, 'xtables.lock')),
      },
      // The /sys/fs/bpf volume: a bpffs of this node's own (init finds it mounted; the policy agent pins there).
      bpffsDir: join(this.dir, 'bpffs'),
      env: {
        ...this.agentEnv(),
        // The policy agent container runs, but aws-cni (run by the node's containerd on the host) would call it at
        // the fixed /var/run/aws-node/npa.sock of the host, not this node's (see agentEnv).
        NETWORK_POLICY_ENFORCING_MODE: '',
        AWS_VPC_K8S_PLUGIN_LOG_FILE: join(this.dir, 'plugin.log'),
        AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE: join(this.dir, 'egress-plugin.log'),
      },
      fields: { 'spec.nodeName': this.o.kube?.nodeName ?? this.instanceId, 'metadata.name': podName },
      sameInside: [this.dir],
      logDir: this.dir,
    });
    this.imagePod = pod;
    try {
      await pod.start();
    } catch (e) {
      await pod.stop(); // the caller may not know this node yet
      throw e;
    }
    const conflist = join(this.cniConfDir, '10-aws.conflist');
    if (!existsSync(conflist)) throw new Error(`aws-node is ready but wrote no ${conflist}`);
  }

  async stop(): Promise<void> {
    await this.imagePod?.stop();
    await this.policyAgent?.stop();
    await this.agent?.stop();
    await this.proxy?.stop();
    for (const c of this.cleanups.splice(0).reverse()) await c();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
