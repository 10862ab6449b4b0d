// init's pure parts and file installation (no root needed): sysctl plan, mountinfo parsing, IMDS client,
// atomic installation.
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bpfMountPoints } from './bpffs.js';
import { imdsGet } from './imds.js';
import { installBinaries } from './install.js';
import { sysctlPlan } from './sysctls.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'vct-init-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('sysctl plan (docs/architecture.md#node-sysctls)', () => {
  const base = { primaryIf: 'ens5', disableTcpEarlyDemux: false, enableIPv6: false, enableV6Egress: false };
  it('IPv4 node: loose rp_filter on the primary interface and early demux on', () => {
    expect(sysctlPlan(base)).toEqual([
      { key: 'net/ipv4/conf/ens5/rp_filter', value: '2', ifExists: false },
      { key: 'net/ipv4/tcp_early_demux', value: '1', ifExists: true },
    ]);
  });
  it('DISABLE_TCP_EARLY_DEMUX turns early demux off', () => {
    expect(sysctlPlan({ ...base, disableTcpEarlyDemux: true })[1]?.value).toBe('0');
  });
  it('IPv6 node: IPv6 enabled, forwarding on, accept_ra 2 on the primary', () => {
    expect(sysctlPlan({ ...base, enableIPv6: true }).slice(2)).toEqual([
      { key: 'net/ipv6/conf/all/disable_ipv6', value: '0', ifExists: false },
      { key: 'net/ipv6/conf/all/forwarding', value: '1', ifExists: false },
      { key: 'net/ipv6/conf/ens5/accept_ra', value: '2', ifExists: false },
    ]);
  });
  it('IPv6 egress on an IPv4 node: forwarding and accept_ra without touching disable_ipv6', () => {
    expect(sysctlPlan({ ...base, enableV6Egress: true }).map((s) => s.key)).toEqual([
      'net/ipv4/conf/ens5/rp_filter',
      'net/ipv4/tcp_early_demux',
      'net/ipv6/conf/all/forwarding',
      'net/ipv6/conf/ens5/accept_ra',
    ]);
  });
});

describe('bpffs detection', () => {
  it('finds bpf mount points in mountinfo, with escaped spaces', () => {
    const mountinfo = [
      '22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw',
      '41 22 0:33 / /sys/fs/bpf rw,nosuid,nodev - bpf bpffs rw,mode=700',
      '42 22 0:34 / /tmp/with\\040space rw - bpf none rw',
      '43 22 0:35 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw',
    ].join('\n');
    expect(bpfMountPoints(mountinfo)).toEqual(['/sys/fs/bpf', '/tmp/with space']);
  });
});

describe('IMDS client', () => {
  let server: Server;
  let tokenCalls = 0;
  let failFirst = 0;
  const start = () =>
    new Promise<string>((resolve) => {
      server = createServer((req, res) => {
        if (failFirst > 0) {
          failFirst--;
          res.writeHead(503).end();
          return;
        }
        if (req.method === 'PUT') {
          tokenCalls++;
          res.end('T1');
          return;
        }
        if (req.headers['x-aws-ec2-metadata-token'] !== 'T1') return void res.writeHead(401).end();
        if (req.url === '/latest/meta-data/mac') return void res.end('0a:1b:2c:3d:4e:5f\n');
        res.writeHead(404).end();
      }).listen(0, '127.0.0.1', () => {
        const a = server.address();
        resolve(`http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`);
      });
    });
  afterAll(() => server?.close());

  it('reads with a v2 token, retrying transient failures', async () => {
    const endpoint = await start();
    failFirst = 2;
    expect(await imdsGet('meta-data/mac', { endpoint, backoffMs: 1 })).toBe('0a:1b:2c:3d:4e:5f');
    expect(tokenCalls).toBe(1);
  });

  it('gives up after the bound with the endpoint, path and cause', async () => {
    const closed = createServer();
    const port = await new Promise<number>((r) =>
      closed.listen(0, '127.0.0.1', () => {
        const a = closed.address();
        r(typeof a === 'object' && a ? a.port : 0);
      }),
    );
    await new Promise((r) => closed.close(r)); // nothing listens there now
    const endpoint = `http://127.0.0.1:${port}`;
    await expect(
      imdsGet('meta-data/mac', { endpoint, attempts: 2, backoffMs: 1, timeoutMs: 500 }),
    ).rejects.toThrow(`IMDS ${endpoint} did not answer meta-data/mac after 2 attempts: connect ECONNREFUSED`);
  });
});

describe('installing executables', () => {
  it('copies every executable except the agent names, mode 0755, leaving no temp files', () => {
    const src = tmp();
    const dest = tmp();
    for (const n of ['aws-cni', 'egress-cni', 'aws-k8s-agent', 'aws-vpc-cni', 'aws-vpc-cni-init', 'portmap'])
      writeFileSync(join(src, n), `#!/bin/sh\necho ${n}\n`, { mode: 0o644 });
    mkdirSync(join(src, 'subdir'));
    writeFileSync(join(dest, 'aws-cni'), 'old');
    const got = installBinaries(src, dest).map((b) => b.name);
    expect(got).toEqual(['aws-cni', 'egress-cni', 'portmap']);
    expect(readdirSync(dest).sort()).toEqual(['aws-cni', 'egress-cni', 'portmap']);
    expect(readFileSync(join(dest, 'aws-cni'), 'utf8')).toContain('echo aws-cni');
    for (const n of got) expect(statSync(join(dest, n)).mode & 0o777).toBe(0o755);
  });

  it('refuses a destination that is not a directory, naming it', () => {
    const src = tmp();
    writeFileSync(join(src, 'aws-cni'), 'x');
    expect(() => installBinaries(src, join(src, 'nope'))).toThrow(
      /HOST_CNI_BIN_PATH .*nope is not a directory/,
    );
  });

  it('refuses an empty source directory', () => {
    expect(() => installBinaries(tmp(), tmp())).toThrow(/no executables to install/);
  });
});
