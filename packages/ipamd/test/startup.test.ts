// Start-up failures exit: ipamd (in-process through its main, and the built executable), the entrypoint and
// init each return non-zero with one line naming the cause and the remedy, and ipamd leaves nothing listening.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main as agentMain } from '../src/agent/main.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'dist/bin/aws-k8s-agent');
const dirs: string[] = [];
const servers: Server[] = [];
afterAll(async () => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'vct-startup-'));
  dirs.push(d);
  return d;
};

/** A TCP port nobody listens on (taken, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Holds a TCP port, as another process would. */
async function holdPort(): Promise<number> {
  const s = createServer();
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

const canListen = async (port: number) => {
  const s = createServer();
  const ok = await new Promise<boolean>((r) => {
    s.once('error', () => r(false));
    s.listen(port, '127.0.0.1', () => r(true));
  });
  await new Promise((r) => s.close(r));
  return ok;
};

function agentEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    VPC_CNI_STATIC_ENIS: JSON.stringify([{ id: 'eni-0aa', deviceNumber: 0, ips: ['10.0.1.5'] }]),
    VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
    AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
    AWS_VPC_K8S_CNI_LOG_FILE: join(dir, 'ipamd.log'),
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
    VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
    ...extra,
  };
}

/** The error lines of the ipamd log (pino writes asynchronously: waits until one is there). */
async function errorLines(dir: string): Promise<{ msg: string; cause: string; remedy: string }[]> {
  const file = join(dir, 'ipamd.log');
  for (let i = 0; i < 100; i++) {
    const lines = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"level":"error"'))
          .map((l) => JSON.parse(l) as { msg: string; cause: string; remedy: string })
      : [];
    if (lines.length > 0) return lines;
    await new Promise((r) => setTimeout(r, 20));
  }
  return [];
}

function run(argv: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(BIN, argv, { env: { PATH: process.env['PATH'] ?? '', ...env } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('exit', (code) => done({ code, stderr }));
  });
}

describe('ipamd start-up failures', () => {
  it('metrics port in use: returns 1, one line naming the address and the variable, nothing left listening', async () => {
    const dir = tmp();
    const taken = await holdPort();
    const introspection = await freePort();
    const code = await agentMain(
      [],
      agentEnv(dir, {
        VPC_CNI_METRICS_BIND_ADDRESS: `127.0.0.1:${taken}`,
        INTROSPECTION_BIND_ADDRESS: `127.0.0.1:${introspection}`,
      }),
    );
    expect(code).toBe(1);
    const lines = await errorLines(dir);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toMatch(
      new RegExp(
        `^ipamd cannot start: metrics address 127.0.0.1:${taken} is already in use .*; remedy: .*VPC_CNI_METRICS_BIND_ADDRESS`,
      ),
    );
    // Released: the gRPC socket is gone and the introspection port (started before metrics) is free again.
    expect(existsSync(join(dir, 'ipamd.sock'))).toBe(false);
    expect(await canListen(introspection)).toBe(true);
  });

  it('IMDS unreachable past its retries: returns 1 with the endpoint and the remedy', async () => {
    const dir = tmp();
    const closed = await freePort();
    const env = agentEnv(dir, { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${closed}` });
    delete env['VPC_CNI_STATIC_ENIS'];
    expect(await agentMain([], env)).toBe(1);
    const lines = await errorLines(dir);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.cause).toMatch(
      new RegExp(`instance metadata service at http://127.0.0.1:${closed} did not answer`),
    );
    expect(lines[0]?.remedy).toMatch(/hop limit|AWS_EC2_METADATA_SERVICE_ENDPOINT/);
    expect(existsSync(join(dir, 'ipamd.sock'))).toBe(false);
  });

  it('checkpoint unreadable: returns 1 naming the file and what to do, nothing left listening', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'ipam.json')); // a directory where the file should be
    expect(await agentMain([], agentEnv(dir))).toBe(1);
    const lines = await errorLines(dir);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.cause).toBe(`the checkpoint ${join(dir, 'ipam.json')} cannot be read (EISDIR)`);
    expect(lines[0]?.remedy).toMatch(/AWS_VPC_K8S_CNI_BACKING_STORE/);
    expect(existsSync(join(dir, 'ipamd.sock'))).toBe(false);
  });

  it.skipIf(!existsSync(BIN))('bad configuration: the executable exits 1 with one stderr line', async () => {
    const dir = tmp();
    const r = await run(['aws-k8s-agent'], agentEnv(dir, { WARM_IP_TARGET: 'lots' }));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'aws-k8s-agent cannot start: bad configuration: invalid WARM_IP_TARGET="lots": accepted an integer >= 0; remedy: fix the named environment variable(s) of the aws-node DaemonSet (see the README configuration table)',
    ]);
  });

  it.skipIf(!existsSync(BIN))(
    'metrics port in use: the executable exits 1 instead of staying alive NOT_SERVING',
    async () => {
      const dir = tmp();
      const taken = await holdPort();
      const r = await run(
        ['aws-k8s-agent'],
        agentEnv(dir, { VPC_CNI_METRICS_BIND_ADDRESS: `127.0.0.1:${taken}` }),
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^aws-k8s-agent cannot start: metrics address .* already in use/);
      expect(existsSync(join(dir, 'ipamd.sock'))).toBe(false);
    },
  );
});

describe('entrypoint start-up failures', () => {
  it.skipIf(!existsSync(BIN))('bad configuration: exits 1 with one line naming the variable', async () => {
    const dir = tmp();
    const r = await run(['aws-vpc-cni'], { ...agentEnv(dir), ENABLE_PREFIX_DELEGATION: 'maybe' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^aws-vpc-cni cannot start: bad configuration: invalid ENABLE_PREFIX_DELEGATION=.*remedy: /,
    );
  });

  it.skipIf(!existsSync(BIN))(
    "ipamd cannot start: the entrypoint exits 1 pointing at ipamd's line",
    async () => {
      const dir = tmp();
      mkdirSync(join(dir, 'bin'));
      const r = await run(['aws-vpc-cni'], {
        ...agentEnv(dir),
        VPC_CNI_SOURCE_BIN_DIR: join(ROOT, 'dist/bin'),
        HOST_CNI_BIN_PATH: join(dir, 'bin'),
        HOST_CNI_CONFDIR_PATH: join(dir, 'net.d'),
        AWS_VPC_K8S_CNI_LOG_FILE: 'stderr',
        AWS_VPC_K8S_CNI_BACKING_STORE: dir, // a directory: unreadable as the checkpoint
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /"msg":"ipamd cannot start: the checkpoint .* cannot be read \(EISDIR\); remedy: /,
      );
      expect(existsSync(join(dir, 'net.d', '10-aws.conflist'))).toBe(false);
    },
  );
});

describe('init start-up failures', () => {
  const initEnv = (dir: string, extra: Record<string, string> = {}) => {
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'src', 'aws-cni'), '#!/bin/sh\n');
    return { VPC_CNI_SOURCE_BIN_DIR: join(dir, 'src'), HOST_CNI_BIN_PATH: join(dir, 'bin'), ...extra };
  };

  it.skipIf(!existsSync(BIN))('bad configuration: exits 1 with one line naming the variable', async () => {
    const r = await run(['aws-vpc-cni-init'], initEnv(tmp(), { DISABLE_TCP_EARLY_DEMUX: 'perhaps' }));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^aws-vpc-cni-init cannot start: bad configuration: invalid DISABLE_TCP_EARLY_DEMUX="perhaps".*; remedy: fix the named environment variable/,
    );
  });

  it.skipIf(!existsSync(BIN))(
    'IMDS unreachable past its retries: exits 1 naming the endpoint and the remedy',
    async () => {
      const closed = await freePort();
      const r = await run(
        ['aws-vpc-cni-init'],
        initEnv(tmp(), { AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${closed}` }),
      );
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^aws-vpc-cni-init cannot start: the instance metadata service at http://127.0.0.1:${closed} did not answer .*; remedy: enable the instance metadata endpoint`,
        ),
      );
    },
  );
});
