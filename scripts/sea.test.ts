// The single executables run on their own: copied into an empty directory and started with an empty
// environment (no PATH, no node, no node_modules). Builds them first when dist/bin is missing.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
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

function runIsolated(file: string, asName: string, args: string[], env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vct-sea-'));
  try {
    copyFileSync(join(bin, file), join(dir, file));
    if (asName !== file) linkSync(join(dir, file), join(dir, asName));
    return spawnSync(`./${asName}`, args, { cwd: dir, env, input: '', encoding: 'utf8' });
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
    // No config on stdin: egress-cni's own decode error (its pass-through is tested in the cni-plugin package).
    const r = runIsolated('aws-cni', 'egress-cni', [], { CNI_COMMAND: 'ADD' });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 6, msg: expect.stringContaining('egress-cni') });
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

  it('aws-cni --version prints the build version', () => {
    const r = runIsolated('aws-cni', 'aws-cni', ['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
