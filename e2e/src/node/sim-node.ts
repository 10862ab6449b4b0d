// One simulated EKS node for end-to-end runs: an instance of the EC2 simulator, its network namespace (given by the
// caller: the fabric, or a test's own), and the real aws-k8s-agent inside it in EC2 mode. Inside the node, IMDS
// answers at http://169.254.169.254 and EC2 at http://127.0.0.1:8080 (a proxy in the node netns forwards both to
// the simulator in this process over unix sockets): ipamd sees what it would see on EC2, and nothing of the
// simulation touches the root netns.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NetnsProxy, bridgeToUnix, startNetnsProxy } from '../netproxy/index.js';
import type { Node, Sim } from '../sim/index.js';
import { AgentProcess } from './agent-process.js';

export const NODE_IMDS_URL = 'http://169.254.169.254';
export const NODE_EC2_URL = 'http://127.0.0.1:8080';

export interface SimNodeOptions {
  sim: Sim;
  node: Node;
  /** Network namespace name of the node (in /var/run/netns). */
  netns: string;
  agentBinary: string;
  /** Extra ipamd environment (warm targets, prefix delegation, ...). */
  env?: Record<string, string>;
}

export class SimNode {
  readonly dir = mkdtempSync(join(tmpdir(), 'vct-node-'));
  readonly socket = join(this.dir, 'ipamd.sock');
  readonly checkpoint = join(this.dir, 'ipam.json');
  readonly log = join(this.dir, 'ipamd.log');
  agent: AgentProcess | undefined;
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
    return {
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
    this.proxy = await startNetnsProxy(this.netnsPath, [
      { host: '169.254.169.254', port: 80, unix: imdsSock },
      { host: '127.0.0.1', port: 8080, unix: ec2Sock },
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

  async stop(): Promise<void> {
    await this.agent?.stop();
    await this.proxy?.stop();
    for (const c of this.cleanups.splice(0).reverse()) await c();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
