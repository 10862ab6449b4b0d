// The single executables run on their own: copied into an empty directory and started with an empty
// environment (no PATH, no node, no node_modules). Builds them first when dist/bin is missing.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const bin = join(root, 'dist/bin');

beforeAll(() => {
  if (!existsSync(join(bin, 'aws-cni')) || !existsSync(join(bin, 'aws-k8s-agent'))) {
    execFileSync(process.execPath, [join(root, 'scripts/build-sea.mjs')], { stdio: 'inherit' });
  }
}, 180_000);

function runIsolated(
  file: string,
  asName: string,
  args: string[],
  env: Record<string, string> = {},
  input = '',
) {
  const dir = mkdtempSync(join(tmpdir(), 'vct-sea-'));
  try {
    copyFileSync(join(bin, file), join(dir, file));
    if (asName !== file) linkSync(join(dir, file), join(dir, asName));
    return spawnSync(`./${asName}`, args, { cwd: dir, env, input, encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('single executables', () => {
  it('aws-cni answers CNI VERSION with every supported version, alone in an empty dir', () => {
    const r = runIsolated('aws-cni', 'aws-cni', [], { CNI_COMMAND: 'VERSION' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      cniVersion: '1.1.0',
      supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  });

  it('aws-cni runs its bundle from the eager code cache (V8 accepts it) and still reads its input', () => {
    // An ADD without CNI_CONTAINERID: the full dispatcher runs and answers code 3, no kernel or ipamd touched.
    const r = runIsolated('aws-cni', 'aws-cni', [], {
      CNI_COMMAND: 'ADD',
      VPC_CNI_DEBUG_CODE_CACHE: '1',
    });
    expect(r.stderr).not.toContain('code cache rejected');
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 3, msg: 'missing containerID' });
  });

  it('aws-cni loads koffi from its SEA asset and calls libc through FFI', () => {
    const r = runIsolated('aws-cni', 'aws-cni', ['--selftest-ffi']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ffi: 'ok', matches: true });
  });

  it('egress-cni is aws-cni under another name and answers as egress-cni', () => {
    // A config without a prevResult: only egress-cni insists on being chained after aws-cni (its ADD/DEL are
    // tested in the cni-plugin package).
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/x',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/x',
    };
    const conf = '{"cniVersion":"1.0.0","name":"n","type":"egress-cni"}';
    const r = runIsolated('aws-cni', 'egress-cni', [], env, conf);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 7, msg: expect.stringContaining('chained plugin') });
    const asAwsCni = runIsolated('aws-cni', 'aws-cni', [], env, conf);
    expect(JSON.parse(asAwsCni.stdout).msg).not.toContain('chained plugin');
  });

  for (const name of ['aws-k8s-agent', 'aws-vpc-cni', 'aws-vpc-cni-init']) {
    it(`${name} answers --version and --help`, () => {
      const v = runIsolated('aws-k8s-agent', name, ['--version']);
      expect(v.status).toBe(0);
      expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
      const h = runIsolated('aws-k8s-agent', name, ['--help']);
      expect(h.status).toBe(0);
      expect(h.stdout).toContain(name);
    });
  }

  it('aws-k8s-agent lists its programs; max-pods-calculator and grpc-health-probe answer by name', () => {
    const l = runIsolated('aws-k8s-agent', 'aws-k8s-agent', ['--list-programs']);
    expect(l.stdout.trim().split('\n')).toEqual(
      expect.arrayContaining(['aws-vpc-cni', 'aws-vpc-cni-init', 'grpc-health-probe', 'max-pods-calculator']),
    );
    const m = runIsolated('aws-k8s-agent', 'max-pods-calculator', [
      '--instance-type',
      'm5.8xlarge',
      '--cni-version',
      '1.9.0',
    ]);
    expect([m.status, m.stdout]).toEqual([0, '234\n']);
    const p = runIsolated('aws-k8s-agent', 'grpc-health-probe', ['-addr=unix:///nonexistent/ipamd.sock']);
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('failed to connect service at "unix:///nonexistent/ipamd.sock"');
  });

  it('aws-cni --version prints the build version', () => {
    const r = runIsolated('aws-cni', 'aws-cni', ['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  // stdin is read with plain reads on fd 0 (src/stdio.ts). A 200 KB config whose one fault is its last field
  // proves all of it was read; the mtu check fails before any kernel or ipamd call.
  const bigConf = `{"cniVersion":"1.0.0","name":"big","type":"aws-cni","pad":"${'x'.repeat(200_000)}","mtu":9001}`;
  const expectMtuFault = (stdout: string) =>
    expect(JSON.parse(stdout)).toMatchObject({
      code: 7,
      msg: expect.stringMatching(/^mtu must be a string/),
    });
  const addEnv = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/nonexistent',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
  };

  function collect(child: ReturnType<typeof spawn>): Promise<{ code: number | null; stdout: string }> {
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    return new Promise((res) => child.on('close', (code) => res({ code, stdout })));
  }
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('aws-cni reads a large config that arrives in slow chunks', async () => {
    const child = spawn(join(bin, 'aws-cni'), [], { env: addEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const done = collect(child);
    for (let off = 0; off < bigConf.length; off += 50_000) {
      child.stdin.write(bigConf.slice(off, off + 50_000));
      await pause(30);
    }
    child.stdin.end();
    const r = await done;
    expect(r.code).toBe(1);
    expectMtuFault(r.stdout);
  });

  it('aws-cni reads a non-blocking stdin to its end (first read EAGAIN, then the stream)', () => {
    // Node's spawn makes a child's stdio blocking, so python hands over a pipe whose read end is O_NONBLOCK and
    // writes only after the plugin has found it empty.
    const feeder = [
      'import os, subprocess, sys, time',
      'data = sys.stdin.buffer.read()',
      'r, w = os.pipe()',
      'os.set_blocking(r, False)',
      'p = subprocess.Popen([sys.argv[1]], stdin=r, stdout=subprocess.PIPE, env=dict(os.environ))',
      'os.close(r)',
      'time.sleep(0.15)',
      'os.write(w, data[:1000]); time.sleep(0.05)',
      "f = os.fdopen(w, 'wb'); f.write(data[1000:]); f.close()",
      'out, _ = p.communicate()',
      'sys.stdout.write(out.decode()); sys.exit(p.returncode)',
    ].join('\n');
    const r = spawnSync('python3', ['-c', feeder, join(bin, 'aws-cni')], {
      input: bigConf,
      env: { ...addEnv, PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      encoding: 'utf8',
    });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(1);
    expectMtuFault(r.stdout);
  });

  it('aws-cni answers a CNI error naming the cause when its FFI addon cannot be loaded', () => {
    // A private mount namespace where every place the addon is extracted to is read-only and empty:
    // /run/vpc-cni and the temp dir (TMPDIR, a directory of this test's own, so the binary and the checkout stay
    // visible wherever they live, /tmp included). Without /run/vpc-cni on the host, a private tmpfs over /run
    // provides one, so nothing is created on the host.
    const tmp = mkdtempSync(join(tmpdir(), 'vct-sea-ro-'));
    const script = [
      '{ [ -d /run/vpc-cni ] || { mount -t tmpfs none /run && mkdir /run/vpc-cni; }; }',
      'mount -t tmpfs -o ro none /run/vpc-cni',
      'mount -t tmpfs -o ro none "$TMPDIR"',
      'exec "$0"',
    ].join(' && ');
    const conf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'aws-cni',
      type: 'aws-cni',
      ipamdEndpoint: 'unix:///nonexistent/ipamd.sock',
    });
    try {
      const r = spawnSync('unshare', ['-m', 'sh', '-c', script, join(bin, 'aws-cni')], {
        env: { ...addEnv, TMPDIR: tmp, PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        input: conf,
        encoding: 'utf8',
      });
      expect(r.error).toBeUndefined();
      expect(r.status, r.stderr).toBe(1);
      const out = JSON.parse(r.stdout) as { code: number; msg: string };
      expect(out.msg).not.toContain('crashed');
      expect(out.msg).toContain(`koffi: cannot load the native addon from /run/vpc-cni or ${tmp}`);
      expect(out.msg).toMatch(/AddNetwork.*koffi/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
