// The real aws-k8s-agent (dist/bin/aws-k8s-agent), or the aws-vpc-cni entrypoint that starts it, as a child
// process inside a node's network namespace, entered with nsenter (not `ip netns exec`, which remounts /sys).
// Ready = ipamd's gRPC health SERVING; stop = SIGTERM, then SIGKILL after 3 s; kill() is the crash (SIGKILL).
import { type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { isServing } from '@vpc-cni/shared/rpc';
import { spawnOwned } from '../harness/owner.js';

export interface AgentProcessOptions {
  binary: string;
  netnsPath: string;
  env: Record<string, string>;
  socket: string;
  log: string;
  readyTimeoutMs?: number;
  /** Where the process's stdout/stderr go (default: discarded; ipamd logs to `log`). */
  outputFile?: string;
}

export class AgentProcess {
  private child: ChildProcess | undefined;

  constructor(readonly o: AgentProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (!existsSync(this.o.binary)) throw new Error(`${this.o.binary} is missing; run \`pnpm build\` first`);
    const out = this.o.outputFile ? openSync(this.o.outputFile, 'a') : 'ignore';
    this.child = spawnOwned('nsenter', [`--net=${this.o.netnsPath}`, this.o.binary], {
      stdio: ['ignore', out, out],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...this.o.env },
    });
    if (typeof out === 'number') closeSync(out);
    const deadline = Date.now() + (this.o.readyTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`${this.o.binary} exited (${this.child.exitCode}): ${this.tail()}`);
      if (await isServing(`unix://${this.o.socket}`, 500)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`aws-k8s-agent did not become SERVING; see ${this.o.log}`);
  }

  /** The last lines of what the process wrote (its output file, else ipamd's log): for error messages. */
  private tail(): string {
    for (const f of [this.o.outputFile, this.o.log])
      if (f && existsSync(f)) return readFileSync(f, 'utf8').trim().split('\n').slice(-5).join(' | ');
    return 'no output';
  }

  /** Crash: SIGKILL, no flush. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL', 0);
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM', 3_000);
  }

  private async signal(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(sig);
    const t = graceMs ? setTimeout(() => child.kill('SIGKILL'), graceMs) : undefined;
    await exited;
    clearTimeout(t);
  }
}
