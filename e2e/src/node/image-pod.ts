// The aws-node pod of deploy/aws-k8s-cni.yaml run from the built image (dist/image/vpc-cni-ts.oci.tar) by the
// node's own containerd, as the kubelet would run it, through `ctr` (the CRI harness here creates sandboxes only):
// host network (the node netns), the init container to completion first, then the aws-node container with the
// manifest's command, env and capabilities, hostPath volumes mapped to the node's directories, and its readiness
// probe evaluated with `ctr task exec`. What differs from the manifest is what a simulated node must differ in:
// the endpoints and paths of this node (SimNode.agentEnv), which override the manifest's values.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
  readinessProbe?: { exec?: { command: string[] } };
}
interface PodSpec {
  initContainers: ManifestContainer[];
  containers: ManifestContainer[];
  volumes: { name: string; hostPath: { path: string } }[];
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
  /** Host path of each hostPath volume on this node (volume name → directory or file). */
  hostPaths: Record<string, string>;
  /** The node's values, over the manifest's (endpoints, credentials, per-node paths). */
  env: Record<string, string>;
  /** Values of the downward API fields the manifest uses. */
  fields: Record<string, string>;
  /** Directories mounted at the same path inside (the node's state directory). */
  sameInside: string[];
  /** Where the containers' output goes. */
  logDir: string;
}

export class ImagePod {
  private readonly id: string;
  private started = false;

  constructor(private readonly o: ImagePodOptions) {
    this.id = `aws-node-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  private ctr(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('ctr', ['-a', this.o.ctrSocket, '-n', 'k8s.io', ...args], { maxBuffer: 16 << 20 });
  }

  private runArgs(c: ManifestContainer, spec: PodSpec): string[] {
    const args = ['--with-ns', `network:${this.o.netnsPath}`];
    if (c.securityContext?.privileged) args.push('--privileged');
    for (const cap of c.securityContext?.capabilities?.add ?? []) args.push('--cap-add', `CAP_${cap}`);
    for (const m of c.volumeMounts ?? []) {
      const vol = spec.volumes.find((v) => v.name === m.name);
      if (!vol) throw new Error(`${c.name}: volume ${m.name} is not in the pod`);
      const src = this.o.hostPaths[m.name];
      if (!src) continue; // not on a simulated node (e.g. the host's bpffs)
      args.push('--mount', `type=bind,src=${src},dst=${m.mountPath},options=rbind:rw`);
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

  /** Imports the image, runs the init container to completion, starts aws-node, waits for its probe to pass. */
  async start(readyTimeoutMs = 120_000): Promise<void> {
    if (!existsSync(IMAGE_ARCHIVE)) throw new Error(`${IMAGE_ARCHIVE} is missing: run \`pnpm image\` first`);
    await this.ctr('images', 'import', IMAGE_ARCHIVE);
    const spec = awsNodePodSpec();
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
    const main = spec.containers.find((c) => c.name === 'aws-node');
    if (!main) throw new Error('no aws-node container in the manifest');
    const out = join(this.o.logDir, 'aws-node.out');
    this.started = true;
    await this.ctr(
      'run',
      '-d',
      '--log-uri',
      `file://${out}`,
      ...this.runArgs(main, spec),
      main.image,
      this.id,
      ...main.command,
      ...(main.args ?? []),
    );
    const probe = main.readinessProbe?.exec?.command;
    if (!probe) throw new Error('aws-node has no exec readiness probe');
    const deadline = Date.now() + readyTimeoutMs;
    for (let n = 0; ; n++) {
      try {
        await this.ctr('task', 'exec', '--exec-id', `probe-${n}`, this.id, ...probe);
        return;
      } catch (e) {
        if (Date.now() > deadline) {
          const tail = existsSync(out) ? readFileSync(out, 'utf8').split('\n').slice(-8).join(' | ') : '';
          throw new Error(
            `aws-node's readiness probe did not pass: ${(e as Error).message}; output: ${tail}`,
          );
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** As the kubelet stops a pod: SIGTERM, then SIGKILL after the grace period; the container is removed. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.ctr('task', 'kill', '-s', 'SIGTERM', this.id).catch(() => undefined);
    for (let i = 0; i < 20; i++) {
      const r = await this.ctr('task', 'ls').catch(() => ({ stdout: '' }));
      if (
        !r.stdout.includes(`${this.id} `) ||
        /STOPPED/.test(r.stdout.split('\n').find((l) => l.startsWith(this.id)) ?? '')
      )
        break;
      await new Promise((res) => setTimeout(res, 500));
    }
    await this.ctr('task', 'kill', '-s', 'SIGKILL', this.id).catch(() => undefined);
    await this.ctr('task', 'rm', '-f', this.id).catch(() => undefined);
    await this.ctr('containers', 'rm', this.id).catch(() => undefined);
  }
}

/** An empty file for a FileOrCreate hostPath (e.g. /run/xtables.lock). */
export function touch(path: string): string {
  if (!existsSync(path)) writeFileSync(path, '');
  return path;
}

export const hasImage = (): boolean => existsSync(IMAGE_ARCHIVE) && existsSync('/usr/bin/ctr');
