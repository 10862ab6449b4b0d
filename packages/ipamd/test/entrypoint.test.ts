// The entrypoint with the real agent: binaries installed first, conflist written only once ipamd is SERVING,
// agent death propagates and leaves the conflist in place.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runEntrypoint } from '../src/entrypoint/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const AGENT = join(ROOT, 'dist/bin/aws-k8s-agent');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function world() {
  const dir = mkdtempSync(join(tmpdir(), 'vct-entry-'));
  dirs.push(dir);
  const src = join(dir, 'app');
  mkdirSync(src);
  for (const n of ['aws-cni', 'egress-cni']) writeFileSync(join(src, n), `#!/bin/sh\n# ${n}\n`);
  for (const d of ['bin', 'net.d']) mkdirSync(join(dir, d));
  const env = {
    PATH: process.env['PATH'] ?? '',
    VPC_CNI_SOURCE_BIN_DIR: src,
    HOST_CNI_BIN_PATH: join(dir, 'bin'),
    HOST_CNI_CONFDIR_PATH: join(dir, 'net.d'),
    VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
    // VPC_CNI_HEALTH_WAIT_SECONDS unset: the default (0) waits as long as it takes.
    AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
    AWS_VPC_K8S_CNI_LOG_FILE: join(dir, 'ipamd.log'),
    VPC_CNI_STATIC_ENIS: JSON.stringify([{ id: 'eni-0aa', deviceNumber: 0, ips: ['10.0.1.5'] }]),
    DISABLE_INTROSPECTION: 'true',
    DISABLE_METRICS: 'true',
  };
  return { dir, env, conflist: join(dir, 'net.d', '10-aws.conflist') };
}

describe.skipIf(!existsSync(AGENT))('aws-vpc-cni entrypoint', () => {
  it('installs the plugins, writes the conflist only after SERVING, exits 1 when the agent dies', async () => {
    const w = world();
    const lines: string[] = [];
    let conflistBeforeServing: boolean | undefined;
    // The agent starts 1 s late, so "not written before SERVING" is observable.
    const agentCommand = ['sh', '-c', 'sleep 1; exec "$0"', AGENT]; // $0: the path may hold spaces
    const run = runEntrypoint(w.env, {
      say: (l) => {
        lines.push(l);
        if (l.startsWith('installed egress-cni')) conflistBeforeServing = existsSync(w.conflist);
      },
      execDir: '/nonexistent',
      agentCommand,
      agentStdio: 'ignore',
    });
    for (let i = 0; i < 200 && !existsSync(w.conflist); i++) await new Promise((r) => setTimeout(r, 50));
    expect(conflistBeforeServing).toBe(false);
    expect(statSync(join(w.dir, 'bin', 'aws-cni')).mode & 0o777).toBe(0o755);
    const conf = JSON.parse(readFileSync(w.conflist, 'utf8')) as { plugins: { type: string }[] };
    expect(conf.plugins.map((p) => p.type)).toEqual(['aws-cni', 'egress-cni', 'portmap']);
    expect(statSync(w.conflist).mode & 0o777).toBe(0o644);
    expect(lines).toContain(`ipamd is serving; wrote ${w.conflist}`);

    // Kill the agent (its pid is the socket owner's; find it through the sh child): pkill by exact path is not
    // allowed, so ask the socket's server to die via SIGKILL on the process that listens on it.
    const { execFileSync } = await import('node:child_process');
    const pids = execFileSync(
      'sh',
      ['-c', `ss -xlpn | grep -F '${w.env.VPC_CNI_IPAMD_SOCKET}' | grep -o 'pid=[0-9]*'`],
      {
        encoding: 'utf8',
      },
    )
      .trim()
      .split('\n')
      .map((p) => Number(p.replace('pid=', '')));
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of new Set(pids)) process.kill(pid, 'SIGKILL');
    expect(await run).toBe(1);
    expect(existsSync(w.conflist)).toBe(true);
  });

  it('a bad setting fails before anything is installed', async () => {
    const w = world();
    await expect(
      runEntrypoint(
        { ...w.env, AWS_VPC_K8S_CNI_VETHPREFIX: 'toolong' },
        {
          say: () => {},
          execDir: '/nonexistent',
          agentCommand: ['false'],
        },
      ),
    ).rejects.toThrow(/AWS_VPC_K8S_CNI_VETHPREFIX/);
    expect(existsSync(join(w.dir, 'bin', 'aws-cni'))).toBe(false);
  });

  it('an agent that never serves makes the entrypoint fail without a conflist', async () => {
    const w = world();
    const code = await runEntrypoint(
      { ...w.env, VPC_CNI_HEALTH_WAIT_SECONDS: '1' },
      { say: () => {}, execDir: '/nonexistent', agentCommand: ['sleep', '30'], agentStdio: 'ignore' },
    );
    expect(code).toBe(1);
    expect(existsSync(w.conflist)).toBe(false);
  });

  it('a socket aws-cni could not dial, or an IMDS endpoint that is no URL, fails at once, naming the variable', async () => {
    const io = {
      say: () => {},
      execDir: '/nonexistent',
      agentCommand: ['sleep', '30'],
      agentStdio: 'ignore' as const,
    };
    for (const [key, value, extra] of [
      ['VPC_CNI_IPAMD_SOCKET', 'relative/ipamd.sock', {}],
      ['VPC_CNI_IPAMD_SOCKET', `/tmp/${'d'.repeat(120)}/ipamd.sock`, {}],
      ['AWS_EC2_METADATA_SERVICE_ENDPOINT', 'nohost:99999', { ENABLE_V6_EGRESS: 'true' }],
    ] as const) {
      const w = world();
      const err = (await runEntrypoint({ ...w.env, ...extra, [key]: value }, io).catch(
        (e: unknown) => e,
      )) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toContain(`${key} is a string (${JSON.stringify(value).slice(0, 30)}`);
      expect(existsSync(join(w.dir, 'bin', 'aws-cni'))).toBe(false);
    }
  });
});
