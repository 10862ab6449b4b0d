// A private containerd (Debian's 1.6) running inside a simulated node's network namespace, with its own root,
// state, sockets and CNI directories, so every pod veth, route and rule lands in that netns. Configured for this
// VM (spec containerd-e2e.md): restrict_oom_score_adj, cgroupfs, overlayfs, the local pause image. Its pods' netns
// are mounted under its own state directory (netns_mounts_under_state_dir), not in the host's /var/run/netns, so
// what one containerd cleans up can never be another's (other tests, other work trees on this machine).
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient } from './cri-client.js';
import { PAUSE_IMAGE, buildPauseImage } from './pause-image.js';
import { childrenOf, ownedTempDir, spawnOwned } from '../harness/owner.js';

export interface ContainerdOptions {
  nodeNs: string;
  cniBinDir: string;
  cniConfDir: string;
  /** Where the pause image tarball is cached between runs. */
  cacheDir: string;
}

export class PrivateContainerd {
  readonly dir = ownedTempDir('vct-containerd-');
  readonly socket = join(this.dir, 'containerd.sock');
  readonly log = join(this.dir, 'containerd.log');
  private child: ChildProcess | undefined;

  constructor(private readonly o: ContainerdOptions) {}

  private config(): string {
    const d = this.dir;
    return `version = 2
root = "${d}/root"
state = "${d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${this.socket}"
[ttrpc]
  address = "${d}/containerd-ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${this.o.cniBinDir}"
    conf_dir = "${this.o.cniConfDir}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
`;
  }

  async start(): Promise<void> {
    mkdirSync(this.o.cacheDir, { recursive: true });
    const image = buildPauseImage(this.o.cacheDir);
    writeFileSync(join(this.dir, 'config.toml'), this.config());
    // nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup mounts runc needs.
    this.child = spawnOwned(
      'nsenter',
      [
        `--net=/var/run/netns/${this.o.nodeNs}`,
        'containerd',
        '--config',
        join(this.dir, 'config.toml'),
        '--log-level',
        'warn',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true, // its own process group, stopped by PID below
        // A clean environment: the test runner's (e.g. a cgroup-related variable) must not leak into runc.
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      },
    );
    const logs: Buffer[] = [];
    this.child.stderr?.on('data', (b: Buffer) => logs.push(b));
    for (let i = 0; i < 200 && !existsSync(this.socket); i++) {
      if (this.child.exitCode !== null)
        throw new Error(`containerd exited: ${Buffer.concat(logs).toString().slice(-500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!existsSync(this.socket)) throw new Error('containerd did not create its socket');
    // Not execFileSync: the simulator other nodes' daemons talk to runs in this process and keeps answering.
    await promisify(execFile)('ctr', ['-a', this.socket, '-n', 'k8s.io', 'images', 'import', image]);
  }

  /**
   * Every sandbox still there is stopped and removed over CRI (CNI DEL through the node's plugins), a few at a
   * time as kubelet's pod workers do. A containerd that does not answer is left to stop()'s sweep.
   */
  async removeSandboxes(): Promise<void> {
    if (this.child?.exitCode !== null || !existsSync(this.socket)) return;
    const cri = new CriClient(this.socket);
    try {
      const ids = await cri.listPodSandboxIds();
      const worker = async (): Promise<void> => {
        for (let id = ids.shift(); id !== undefined; id = ids.shift()) {
          await cri.stopPodSandbox(id).catch(() => undefined);
          await cri.removePodSandbox(id).catch(() => undefined);
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
    } catch {
      // containerd not answering: the shim sweep of stop() still runs
    } finally {
      cri.close();
    }
  }

  /**
   * Sandboxes still there (a test failed half-way) are stopped and removed over CRI first, so containerd deletes
   * their netns and shims; shims that still outlive containerd are killed by PID (found by our socket path).
   */
  async stop(): Promise<void> {
    await this.removeSandboxes();
    const c = this.child;
    if (c?.pid && c.exitCode === null) {
      process.kill(c.pid, 'SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => {
          if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
          r(undefined);
        }, 5_000);
        c.once('exit', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
    sweepShims(this.socket);
    // Snapshot mounts of removed sandboxes are gone; anything left under our root is unmounted before removal:
    // among them the netns containerd 1.6 keeps of a sandbox whose CNI ADD failed (mounted under our state dir).
    for (const m of mountsUnder(this.dir)) execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Mount points below `dir` (pod netns, snapshots), deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort()
    .reverse();
}

interface Shim {
  pid: number;
  sandboxId: string;
}

/** containerd-shim processes serving the containerd at `socket` (their command line names it). */
export function shimsOf(socket: string): Shim[] {
  const out: Shim[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (args[0]?.startsWith('/usr/bin/containerd-shim') && args.includes(socket))
        out.push({ pid: Number(d), sandboxId: args[args.indexOf('-id') + 1] ?? '' });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Last resort after containerd is gone: the shims' containers (pause), the shims, and their cgroups. */
export function sweepShims(socket: string): number {
  const shims = shimsOf(socket);
  for (const s of shims)
    for (const pid of [...childrenOf(s.pid), s.pid])
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
  for (const s of shims)
    for (const ctl of readdirSync('/sys/fs/cgroup'))
      try {
        rmdirSync(`/sys/fs/cgroup/${ctl}/k8s.io/${s.sandboxId}`);
      } catch {
        // not there or not empty yet
      }
  return shims.length;
}
