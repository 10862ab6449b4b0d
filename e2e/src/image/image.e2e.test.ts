// The image `pnpm image` built (dist/image/vpc-cni-ts.oci.tar), run by a private containerd as the DaemonSet's
// containers run: imported with `ctr images import` as docs/install.md says, then the init container's program
// with the host's CNI bin directory bind-mounted, and the programs the probes and operators call. Each container
// gets its own fresh network namespace (no --net-host), so nothing reaches the host's. The test command builds the
// image before this file runs; without the archive the tests fail (VPC_CNI_SKIP_IMAGE=1 skips them).
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { imageTests } from '../node/image-pod.js';
import { ownedTempDir, spawnOwned } from '../harness/owner.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const ARCHIVE = join(ROOT, 'dist/image/vpc-cni-ts.oci.tar');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = `localhost/vpc-cni-ts:${VERSION}`;

let dir = '';
let containerd: ChildProcess | undefined;
let n = 0;

const ctr = (...args: string[]) =>
  spawnSync('ctr', ['-a', join(dir, 'c.sock'), '-n', 'k8s.io', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });

/** `ctr run --rm` of the image: its exit status and output. */
function run(cmd: string[], opts: { env?: Record<string, string>; mounts?: [string, string][] } = {}) {
  const args = ['run', '--rm', '--privileged'];
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('--env', `${k}=${v}`);
  for (const [src, dst] of opts.mounts ?? [])
    args.push('--mount', `type=bind,src=${src},dst=${dst},options=rbind:rw`);
  const r = ctr(...args, IMAGE, `vct-image-${process.pid}-${n++}`, ...cmd);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const image = imageTests();

describe.skipIf(image.skip)(`the image, run by containerd${image.title}`, () => {
  // Each test fails on its own when the archive is missing (a failing beforeAll would only mark them skipped).
  beforeEach(() => image.require());
  beforeAll(async () => {
    if (!existsSync(ARCHIVE)) return;
    dir = ownedTempDir('vct-image-');
    writeFileSync(
      join(dir, 'config.toml'),
      `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${dir}/c.sock"
[ttrpc]
  address = "${dir}/t.sock"
`,
    );
    containerd = spawnOwned('containerd', ['--config', join(dir, 'config.toml'), '--log-level', 'error'], {
      stdio: 'ignore',
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    for (let i = 0; i < 200 && !existsSync(join(dir, 'c.sock')); i++)
      await new Promise((r) => setTimeout(r, 50));
    const imported = ctr('images', 'import', ARCHIVE);
    expect(imported.status, imported.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    if (containerd && containerd.exitCode === null) {
      const exited = new Promise((r) => containerd?.once('exit', r));
      containerd.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is imported under the name the manifest uses', () => {
    expect(ctr('images', 'ls', '-q').stdout.split('\n')).toContain(IMAGE);
  });

  it('the init container installs the CNI executables on the node, then names what it lacks', () => {
    const cniBin = join(dir, 'opt-cni-bin');
    mkdirSync(cniBin);
    const r = run(['/app/aws-vpc-cni-init'], {
      env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1', VPC_CNI_MOUNT_BPFFS: 'false' },
      mounts: [[cniBin, '/host/opt/cni/bin']],
    });
    expect(readdirSync(cniBin).sort()).toEqual([
      'aws-cni',
      'bandwidth',
      'egress-cni',
      'host-local',
      'loopback',
      'portmap',
      'tuning',
    ]);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/the instance metadata service at http:\/\/127.0.0.1:1 did not answer/);
  });

  it('the probe, the calculator and the iptables choice answer inside the image', () => {
    const probe = run(['/app/grpc-health-probe', '-addr=unix:///var/run/aws-node/ipamd.sock']);
    expect(probe.status).toBe(2);
    expect(probe.out).toMatch(/failed to connect service at "unix:\/\/\/var\/run\/aws-node\/ipamd.sock"/);
    const pods = run(['/app/max-pods-calculator', '--instance-type', 'm5.large', '--cni-version', '1.19.0']);
    expect([pods.status, pods.out.trim()]).toEqual([0, '29']);
    const ipt = run([
      'sh',
      '-c',
      'iptables-wrapper --detect; iptables -t mangle -S >/dev/null; readlink /etc/alternatives/iptables',
    ]);
    expect(
      ipt.out
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('#')),
    ).toEqual(['nft', '/usr/sbin/iptables-nft']);
  });
});
