// The aws-node pod of deploy/aws-k8s-cni.yaml run from the built image (dist/image/vpc-cni-ts.oci.tar) by the
// node's own containerd, as the kubelet would run it, through `ctr` (the CRI harness here creates sandboxes only):
// host network (the node netns), the init container to completion first, then every long-running container (aws-node
// and aws-network-policy-agent) with the manifest's command, args, env and capabilities, hostPath volumes mapped to
// the node's directories (the bpffs volume to a private bpffs of this node, never the host's /sys/fs/bpf), and each
// container's readiness probe evaluated until it passes. What differs from the manifest is what a simulated node
// must differ in: the endpoints and paths of this node (SimNode.agentEnv), which override the manifest's values.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../../..');
export const IMAGE_ARCHIVE = join(ROOT, 'dist/image/vpc-cni-ts.oci.tar');
const run = promisify(execFile);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
export interface ManifestContainer {
  name: string;
  image: string;
  command: string[];
  args?: string[];
  env?: EnvVar[];
  securityContext?: { privileged?: boolean; capabilities?: { add?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: ManifestProbe;
}
interface ManifestProbe {
  exec?: { command: string[] };
  httpGet?: { path?: string; port: number | string };
}
interface PodSpec {
  initContainers: ManifestContainer[];
  containers: ManifestContainer[];
  volumes: { name: string; hostPath: { path: string; type?: string } }[];
}

/** The aws-node DaemonSet's pod spec, read from deploy/aws-k8s-cni.yaml. */
export function awsNodePodSpec(): PodSpec {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/aws-k8s-cni.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind?: string; spec?: { template: { spec: PodSpec } } } | null,
  );
  const ds = docs.find((d) => d?.kind === 'DaemonSet');
  if (!ds?.spec) throw new Error('deploy/aws-k8s-cni.yaml has no DaemonSet');
  return ds.spec.template.spec;
}

export interface ImagePodOptions {
  ctrSocket: string;
  netnsPath: string;
  /** Host path of each hostPath volume on this node (volume name → directory or file), but the bpffs one. */
  hostPaths: Record<string, string>;
  /**
   * Where this pod mounts its own bpffs for the manifest's /sys/fs/bpf volume (created, mounted at start,
   * unmounted at stop): the host's /sys/fs/bpf is never given to a container.
   */
  bpffsDir: string;
  /** The node's values, over the manifest's (endpoints, credentials, per-node paths). */
  env: Record<string, string>;
  /** Values of the downward API fields the manifest uses. */
  fields: Record<string, string>;
  /** Directories mounted at the same path inside (the node's state directory). */
  sameInside: string[];
  /** Where the containers' output goes (`<container>.out`). */
  logDir: string;
}

/** How the kubelet would decide a container is ready. */
export type Probe = { kind: 'exec'; command: string[] } | { kind: 'http'; port: number; path: string };

/**
 * The readiness probe of a container: the manifest's (exec or httpGet); without one, a container that serves
 * controller-runtime's health endpoints (`--health-probe-bind-addr`, as the network policy agent does) is ready
 * when GET /readyz there answers 200.
 */
export function readinessProbe(c: ManifestContainer): Probe {
  const p = c.readinessProbe;
  if (p?.exec) return { kind: 'exec', command: p.exec.command };
  if (p?.httpGet) {
    const port = typeof p.httpGet.port === 'number' ? p.httpGet.port : Number(p.httpGet.port);
    if (!Number.isInteger(port))
      throw new Error(`${c.name}: httpGet probe port ${p.httpGet.port} is not a number`);
    return { kind: 'http', port, path: p.httpGet.path ?? '/' };
  }
  const bind = (c.args ?? []).find((a) => a.startsWith('--health-probe-bind-addr='));
  const port = bind ? Number(bind.slice(bind.lastIndexOf(':') + 1)) : NaN;
  if (Number.isInteger(port) && port > 0) return { kind: 'http', port, path: '/readyz' };
  throw new Error(`${c.name} has neither a readiness probe nor --health-probe-bind-addr in the manifest`);
}

interface Running {
  name: string;
  id: string;
  out: string;
  probe: Probe;
}

export class ImagePod {
  private readonly id: string;
  private readonly running: Running[] = [];
  private bpffsMounted = false;

  constructor(private readonly o: ImagePodOptions) {
    this.id = `aws-node-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** The long-running containers started (manifest order), each ready when start() returned. */
  get containers(): { name: string; probe: Probe }[] {
    return this.running.map(({ name, probe }) => ({ name, probe }));
  }

  private ctr(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('ctr', ['-a', this.o.ctrSocket, '-n', 'k8s.io', ...args], { maxBuffer: 16 << 20 });
  }

  private hostPath(vol: { name: string; hostPath: { path: string } }): string {
    if (vol.hostPath.path === '/sys/fs/bpf') return this.o.bpffsDir;
    const src = this.o.hostPaths[vol.name];
    if (!src) throw new Error(`volume ${vol.name} (${vol.hostPath.path}) has no directory on this node`);
    return src;
  }

  private runArgs(c: ManifestContainer, spec: PodSpec): string[] {
    const args = ['--with-ns', `network:${this.o.netnsPath}`];
    if (c.securityContext?.privileged) args.push('--privileged');
    for (const cap of c.securityContext?.capabilities?.add ?? []) args.push('--cap-add', `CAP_${cap}`);
    for (const m of c.volumeMounts ?? []) {
      const vol = spec.volumes.find((v) => v.name === m.name);
      if (!vol) throw new Error(`${c.name}: volume ${m.name} is not in the pod`);
      args.push('--mount', `type=bind,src=${this.hostPath(vol)},dst=${m.mountPath},options=rbind:rw`);
    }
    for (const d of this.o.sameInside) args.push('--mount', `type=bind,src=${d},dst=${d},options=rbind:rw`);
    const env = new Map<string, string>();
    for (const e of c.env ?? []) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      const v = e.value ?? (field ? this.o.fields[field] : undefined);
      if (v === undefined) throw new Error(`${c.name}: no value for ${e.name}`);
      env.set(e.name, v);
    }
    for (const [k, v] of Object.entries(this.o.env)) env.set(k, v);
    for (const [k, v] of env) args.push('--env', `${k}=${v}`);
    return args;
  }

  /**
   * Imports the image, runs the init containers to completion, starts every long-running container, and waits
   * until each one's readiness probe passes (or its task exits, which fails at once with its output).
   */
  async start(readyTimeoutMs = 120_000): Promise<void> {
    if (!existsSync(IMAGE_ARCHIVE)) throw new Error(`${IMAGE_ARCHIVE} is missing: run \`pnpm image\` first`);
    await this.ctr('images', 'import', IMAGE_ARCHIVE);
    const spec = awsNodePodSpec();
    if (spec.volumes.some((v) => v.hostPath.path === '/sys/fs/bpf')) {
      mkdirSync(this.o.bpffsDir, { recursive: true });
      execFileSync('mount', ['-t', 'bpf', 'bpf', this.o.bpffsDir]);
      this.bpffsMounted = true;
    }
    for (const init of spec.initContainers) {
      try {
        const r = await this.ctr(
          'run',
          '--rm',
          ...this.runArgs(init, spec),
          init.image,
          `${this.id}-${init.name}`,
          ...init.command,
          ...(init.args ?? []),
        );
        writeFileSync(join(this.o.logDir, `${init.name}.out`), r.stdout + r.stderr);
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message: string };
        throw new Error(`init container ${init.name} failed: ${err.stderr || err.stdout || err.message}`);
      }
    }
    for (const c of spec.containers) {
      const r: Running = {
        name: c.name,
        id: `${this.id}-${c.name}`,
        out: join(this.o.logDir, `${c.name}.out`),
        probe: readinessProbe(c),
      };
      this.running.push(r);
      await this.ctr(
        'run',
        '-d',
        '--log-uri',
        `file://${r.out}`,
        ...this.runArgs(c, spec),
        c.image,
        r.id,
        ...c.command,
        ...(c.args ?? []),
      );
    }
    const deadline = Date.now() + readyTimeoutMs;
    for (const r of this.running) await this.waitReady(r, deadline);
  }

  private tail(r: Running): string {
    return existsSync(r.out) ? readFileSync(r.out, 'utf8').split('\n').slice(-8).join(' | ') : '';
  }

  private async waitReady(r: Running, deadline: number): Promise<void> {
    for (let n = 0; ; n++) {
      const why = await this.probeOnce(r, n);
      if (why === undefined) return;
      const tasks = await this.ctr('task', 'ls').catch(() => ({ stdout: '' }));
      const line = tasks.stdout.split('\n').find((l) => l.startsWith(`${r.id} `)) ?? '';
      if (/STOPPED/.test(line) || Date.now() > deadline)
        throw new Error(
          `${r.name}: readiness probe did not pass (${/STOPPED/.test(line) ? 'the container exited' : 'timed out'}): ` +
            `${why}; output: ${this.tail(r)}`,
        );
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  /** One evaluation of a container's probe: undefined when it passes, else why not. */
  private async probeOnce(r: Running, n: number): Promise<string | undefined> {
    switch (r.probe.kind) {
      case 'exec':
        try {
          await this.ctr('task', 'exec', '--exec-id', `probe-${n}`, r.id, ...r.probe.command);
          return undefined;
        } catch (e) {
          return (e as Error).message;
        }
      case 'http': {
        const res = await this.httpGet(r.probe.port, r.probe.path);
        return res.status === 200 ? undefined : `GET ${r.probe.path}: ${res.status} ${res.body}`;
      }
    }
  }

  /**
   * GET http://127.0.0.1:<port><path> inside the node's network namespace, as the kubelet's httpGet probe of a
   * host-network pod reaches the node's own address: status (0 when nothing answered) and body.
   */
  async httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
    const script =
      `fetch('http://127.0.0.1:${port}${path}', { signal: AbortSignal.timeout(5000) })` +
      `.then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))` +
      `.catch((e) => console.log(JSON.stringify({ status: 0, body: String(e.cause ?? e) })))`;
    const r = await run('nsenter', [`--net=${this.o.netnsPath}`, process.execPath, '-e', script]);
    return JSON.parse(r.stdout) as { status: number; body: string };
  }

  /** Runs a command in one of the pod's running containers (`ctr task exec`): its output, or the error. */
  async exec(container: string, cmd: string[]): Promise<{ stdout: string; stderr: string }> {
    const r = this.running.find((c) => c.name === container);
    if (!r) throw new Error(`no running container ${container} in the pod`);
    return this.ctr('task', 'exec', '--exec-id', `x-${Math.random().toString(36).slice(2, 8)}`, r.id, ...cmd);
  }

  /**
   * As the kubelet stops a pod: SIGTERM to every container, then SIGKILL after the grace period; the containers
   * are removed and the pod's bpffs unmounted.
   */
  async stop(): Promise<void> {
    const running = this.running.splice(0);
    await Promise.all(running.map((r) => this.stopOne(r.id)));
    if (this.bpffsMounted) {
      this.bpffsMounted = false;
      try {
        execFileSync('umount', [this.o.bpffsDir]);
      } catch {
        execFileSync('umount', ['-l', this.o.bpffsDir]);
      }
    }
  }

  private async stopOne(id: string): Promise<void> {
    await this.ctr('task', 'kill', '-s', 'SIGTERM', id).catch(() => undefined);
    for (let i = 0; i < 20; i++) {
      const r = await this.ctr('task', 'ls').catch(() => ({ stdout: '' }));
      const line = r.stdout.split('\n').find((l) => l.startsWith(`${id} `));
      if (!line || /STOPPED/.test(line)) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    await this.ctr('task', 'kill', '-s', 'SIGKILL', id).catch(() => undefined);
    await this.ctr('task', 'rm', '-f', id).catch(() => undefined);
    await this.ctr('containers', 'rm', id).catch(() => undefined);
  }
}

/** An empty file for a FileOrCreate hostPath (e.g. /run/xtables.lock). */
export function touch(path: string): string {
  if (!existsSync(path)) writeFileSync(path, '');
  return path;
}

/** The variable that opts out of the tests that need the image (the test command then does not build it). */
export const SKIP_IMAGE_ENV = 'VPC_CNI_SKIP_IMAGE';

/**
 * Whether the tests that run the image skip (only when VPC_CNI_SKIP_IMAGE=1: then they say so) or run; when they
 * run without an archive they fail, naming `pnpm image` and the opt-out (a missing image is not a pass).
 */
export function imageTests(): { skip: boolean; title: string; require: () => void } {
  const skip = process.env[SKIP_IMAGE_ENV] === '1';
  if (skip) console.warn(`skipping the tests that run the image: ${SKIP_IMAGE_ENV}=1`);
  return {
    skip,
    title: skip ? ` (skipped: ${SKIP_IMAGE_ENV}=1)` : '',
    require: () => {
      if (!existsSync(IMAGE_ARCHIVE))
        throw new Error(
          `${IMAGE_ARCHIVE} is missing: build it with \`pnpm image\` (the test command builds it), or set ` +
            `${SKIP_IMAGE_ENV}=1 to skip the tests that run the image`,
        );
    },
  };
}
