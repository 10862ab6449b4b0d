// The cluster's network-policy-controller (dist/bin/network-policy-controller, a name of the multi-call
// aws-k8s-agent) as a process against the Kubernetes stand-in, with upstream's leader election. It is an API client
// only (no network configuration), so it runs in the caller's namespace with its listeners off (`0`): several
// clusters may run at once on one machine. Ready = it holds the Lease (it lists and writes only after that).
import { type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeApiSim } from '../kube/index.js';
import { spawnOwned } from '../harness/owner.js';

export const LEASE = 'amazon-network-policy-controller-k8s';

export class PolicyControllerProcess {
  private child: ChildProcess | undefined;
  readonly out: string;

  constructor(
    readonly o: {
      binary: string;
      kube: KubeApiSim;
      dir: string;
      batchPeriod?: string;
      readyTimeoutMs?: number;
    },
  ) {
    this.out = join(o.dir, 'network-policy-controller.out');
  }

  async start(): Promise<void> {
    if (!existsSync(this.o.binary)) throw new Error(`${this.o.binary} is missing; run \`pnpm build\` first`);
    const kubeconfig = this.o.kube.writeKubeconfig(join(this.o.dir, 'controller-kubeconfig'));
    const out = openSync(this.out, 'a');
    this.child = spawnOwned(
      this.o.binary,
      [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=true',
        '--health-probe-bind-addr=0',
        '--metrics-bind-addr=0',
        '--log-level=debug',
        `--pod-update-batch-period-duration=${this.o.batchPeriod ?? '1s'}`,
      ],
      { stdio: ['ignore', out, out], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
    );
    closeSync(out);
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`network-policy-controller exited (${this.child.exitCode}): ${this.tail()}`);
      if (this.leading()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`network-policy-controller did not take the Lease ${LEASE}; see ${this.out}`);
  }

  private leading(): boolean {
    try {
      const l = this.o.kube.api.store.get('coordination.k8s.io/leases', 'kube-system', LEASE) as {
        spec?: { holderIdentity?: string };
      };
      return !!l.spec?.holderIdentity;
    } catch {
      return false;
    }
  }

  private tail(): string {
    return existsSync(this.out)
      ? readFileSync(this.out, 'utf8').trim().split('\n').slice(-5).join(' | ')
      : '';
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(t);
  }
}
