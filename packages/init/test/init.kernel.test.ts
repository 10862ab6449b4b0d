// The built aws-vpc-cni-init run as the init container would, inside a throwaway netns standing in for the node:
// binaries installed, sysctls set in that netns only, bpffs mounted (in the private mount namespace `ip netns
// exec` gives it, so nothing leaks to this machine), failures reported with a non-zero exit.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestNetns, createTestNetns } from '../../shared/test/netns-fixture.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const INIT = join(ROOT, 'dist/bin/aws-vpc-cni-init');
const MAC = '02:42:ac:11:00:07';

describe.skipIf(!existsSync(INIT))('aws-vpc-cni-init (kernel)', () => {
  let ns: TestNetns;
  let imds: ChildProcess | undefined;
  let endpoint = '';
  const work = mkdtempSync(join(tmpdir(), 'vct-initk-'));

  beforeAll(async () => {
    ns = createTestNetns('init');
    ns.ip(['link', 'set', 'lo', 'up']);
    ns.ip(['link', 'add', 'ens5', 'address', MAC, 'type', 'veth', 'peer', 'name', 'peer0']);
    const portFile = join(work, 'port');
    imds = spawn(
      'ip',
      ['netns', 'exec', ns.name, process.execPath, join(import.meta.dirname, 'fake-imds.mjs'), MAC, portFile],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 200 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 25));
    endpoint = `http://127.0.0.1:${readFileSync(portFile, 'utf8')}`;
  });

  afterAll(() => {
    imds?.kill('SIGKILL');
    ns?.remove();
    rmSync(work, { recursive: true, force: true });
  });

  const runInit = (env: Record<string, string>) =>
    spawnSync('ip', ['netns', 'exec', ns.name, INIT], {
      env: { PATH: process.env['PATH'] ?? '', AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoint, ...env },
      encoding: 'utf8',
    });

  it('installs the CNI executables, sets the sysctls in the node netns and mounts bpffs', () => {
    const dest = mkdtempSync(join(work, 'bin-'));
    const bpf = mkdtempSync(join(work, 'bpf-'));
    const hostDemux = readFileSync('/proc/sys/net/ipv4/tcp_early_demux', 'utf8').trim();
    const r = runInit({
      HOST_CNI_BIN_PATH: dest,
      VPC_CNI_BPFFS_PATH: bpf,
      DISABLE_TCP_EARLY_DEMUX: 'true',
      ENABLE_IPv6: 'true',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(dest).sort()).toEqual(['aws-cni', 'egress-cni']);
    expect(statSync(join(dest, 'aws-cni')).mode & 0o777).toBe(0o755);
    expect(r.stdout).toContain(`primary interface ens5 (${MAC})`);
    expect(r.stdout).toContain(`mounted bpffs at ${bpf}`);
    const sysctl = (k: string) =>
      execFileSync('ip', ['netns', 'exec', ns.name, 'cat', `/proc/sys/${k}`], { encoding: 'utf8' }).trim();
    expect(sysctl('net/ipv4/conf/ens5/rp_filter')).toBe('2');
    expect(sysctl('net/ipv4/tcp_early_demux')).toBe('0');
    expect(sysctl('net/ipv6/conf/all/forwarding')).toBe('1');
    expect(sysctl('net/ipv6/conf/ens5/accept_ra')).toBe('2');
    // This machine is untouched: its own early demux and mount table are as they were.
    expect(readFileSync('/proc/sys/net/ipv4/tcp_early_demux', 'utf8').trim()).toBe(hostDemux);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(bpf);
  });

  it('fails with a clear message when no interface has the primary MAC', () => {
    ns.ip(['link', 'set', 'ens5', 'address', '02:00:00:00:00:99']);
    try {
      const r = runInit({ HOST_CNI_BIN_PATH: mkdtempSync(join(work, 'bin-')), VPC_CNI_MOUNT_BPFFS: 'false' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/cannot start: no interface has the primary ENI's MAC 02:42:ac:11:00:07/);
    } finally {
      ns.ip(['link', 'set', 'ens5', 'address', MAC]);
    }
  });

  it('fails before changing anything on an invalid setting', () => {
    const r = runInit({ HOST_CNI_BIN_PATH: join(work, 'missing'), DISABLE_TCP_EARLY_DEMUX: 'maybe' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/DISABLE_TCP_EARLY_DEMUX/);
  });
});
