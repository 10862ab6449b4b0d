// The real ipamd (dist/bin/aws-k8s-agent) with static ENIs (VPC_CNI_STATIC_ENIS) inside a test node netns, for the
// low-level containerd test: a primary ENI with its secondary IPs and a second ENI whose addresses are added on
// demand. End-to-end scenarios and the demo use the EC2 simulator instead (e2e/src/node).
import { readDurableAllocations } from '@vpc-cni/ipamd/persistence';
import { type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isServing } from '@vpc-cni/shared/rpc';
import { ownedTempDir, spawnOwned } from '../harness/owner.js';

export interface DemoEni {
  id: string;
  deviceNumber: number;
  ips: string[];
  reserve: string[];
  /** Primary ENI: what IMDS would say, so ipamd sets up host networking (SNAT). */
  mac?: string;
  primaryIp?: string;
  vpcCidrs?: string[];
}

export class IpamdProcess {
  readonly dir = ownedTempDir('vct-demo-ipamd-');
  readonly socket = join(this.dir, 'ipamd.sock');
  readonly checkpoint = join(this.dir, 'ipam.json');
  readonly log = join(this.dir, 'ipamd.log');
  private child: ChildProcess | undefined;

  constructor(
    private readonly agent: string,
    readonly enis: DemoEni[],
  ) {}

  async start(nodeNs: string): Promise<void> {
    if (!existsSync(this.agent)) throw new Error(`${this.agent} is missing; run \`pnpm build\` first`);
    this.child = spawnOwned('ip', ['netns', 'exec', nodeNs, this.agent], {
      stdio: 'ignore',
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        VPC_CNI_STATIC_ENIS: JSON.stringify(this.enis),
        VPC_CNI_IPAMD_SOCKET: this.socket,
        AWS_VPC_K8S_CNI_BACKING_STORE: this.checkpoint,
        AWS_VPC_K8S_CNI_LOG_FILE: this.log,
        AWS_VPC_K8S_CNI_LOGLEVEL: 'info',
      },
    });
    for (let i = 0; i < 200; i++) {
      if (this.child.exitCode !== null)
        throw new Error(`aws-k8s-agent exited (${this.child.exitCode}); see ${this.log}`);
      if (await isServing(`unix://${this.socket}`, 500)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`aws-k8s-agent did not become SERVING; see ${this.log}`);
  }

  /** Allocations as ipamd persisted them (address → container id): the checkpoint with its journal replayed. */
  allocations(): Map<string, string> {
    return new Map(readDurableAllocations(this.checkpoint).map((a) => [a.address, a.containerID]));
  }

  eniOf(ip: string): DemoEni | undefined {
    return this.enis.find((e) => e.ips.includes(ip) || e.reserve.includes(ip));
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          r(undefined);
        }, 3_000);
        child.once('exit', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
