// egress-cni's dispatcher and commands with recording adapters: transparent when disabled (every default
// conflist chains it), ADD applies the plan and appends the two interfaces, a failure at any step undoes what was
// applied and releases the address, DEL tears down by chain name (also without a netns), errors are CNI errors.
// The kernel side is in test/egress.kernel.test.ts; here, also the real single executable when it is built.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '@vpc-cni/shared/logging';
import { runEgress } from './egress.js';
import type { EgressDeps } from './egress/commands.js';
import { HostLocalStore } from './egress/ipam.js';
import type { EgressOp } from './egress/plan.js';

const prev = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eni0761ccbeace' }, { name: 'eth0', sandbox: '/var/run/netns/x' }],
  ips: [{ address: '2600:1f14::5/128', interface: 1 }],
};
const conf = (o: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: '0.4.0',
    name: 'aws-cni',
    type: 'egress-cni',
    enabled: 'false',
    prevResult: prev,
    ...o,
  });
const cniEnv = (cmd: string, netns = '/var/run/netns/x') => ({
  CNI_COMMAND: cmd,
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: netns,
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
});
const run = (cmd: string, stdin: string, deps?: EgressDeps, netns?: string) =>
  runEgress({
    env: cniEnv(cmd, netns),
    stdin: async () => stdin,
    ...(deps ? { deps: async () => deps } : {}),
  });

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const silent: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silent,
};

/** Records applied ops; fails the n-th apply when asked. */
function fakeDeps(failAt = 0) {
  const dataDir = mkdtempSync(join(tmpdir(), 'egress-unit-'));
  dirs.push(dataDir);
  const applied: EgressOp[] = [];
  let n = 0;
  const deps: EgressDeps = {
    logger: silent,
    executor: async () => ({
      apply: async (op) => {
        n += 1;
        if (n === failAt) throw new Error(`boom at ${op.op}`);
        applied.push(op);
      },
      close: () => {},
    }),
    ipam: (d, net) => new HostLocalStore(d, net),
    randomMac: () => '0a:00:00:00:00:01',
    randomVethName: () => 'veth01020304',
    netnsExists: () => true,
    observe: async () => ({ podCidrs: undefined, hostRouteDev: undefined, natSave: '' }),
  };
  return { deps, applied, dataDir };
}

const enabled = (dataDir: string, o: Record<string, unknown> = {}) =>
  conf({
    enabled: 'true',
    nodeIP: '10.0.0.5',
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: '169.254.172.0/22' }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir,
    },
    ...o,
  });

describe('egress-cni (disabled)', () => {
  it('ADD prints the prevResult in the config version', async () => {
    const r = await run('ADD', conf());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      ...prev,
      cniVersion: '0.4.0',
      dns: {}, // as aws-cni prints 0.4.0 results
      ips: [{ version: '6', address: '2600:1f14::5/128', interface: 1 }],
    });
  });

  it.each(['DEL', 'CHECK', 'GC', 'STATUS'])('%s succeeds with no output', async (cmd) => {
    expect(await run(cmd, conf())).toEqual({ out: '', code: 0 });
  });

  it('VERSION lists the supported versions', async () => {
    expect(JSON.parse((await run('VERSION', '')).out).supportedVersions).toContain('1.1.0');
  });

  it('errors: not chained, bad JSON, missing env', async () => {
    const notChained = await run('ADD', conf({ prevResult: undefined }));
    expect(notChained.code).toBe(1);
    expect(JSON.parse(notChained.out)).toMatchObject({ code: 7, msg: 'must be called as a chained plugin' });
    expect(JSON.parse((await run('ADD', '{')).out)).toMatchObject({ code: 6 });
    const noEnv = await runEgress({ env: { CNI_COMMAND: 'ADD' }, stdin: async () => conf() });
    expect(JSON.parse(noEnv.out)).toMatchObject({ code: 3 });
  });
});

describe('egress-cni (enabled)', () => {
  it('ADD reserves an address, applies the plan, appends host veth and v4if0 to the result', async () => {
    const f = fakeDeps();
    const r = await run('ADD', enabled(f.dataDir), f.deps);
    expect(r.code, r.out).toBe(0);
    const out = JSON.parse(r.out) as { interfaces: unknown[]; ips: unknown[] };
    expect(out.interfaces).toEqual([
      ...prev.interfaces,
      { name: 'veth01020304', mac: '0a:00:00:00:00:01' },
      { name: 'v4if0', mac: '0a:00:00:00:00:01', sandbox: '/var/run/netns/x' },
    ]);
    expect(out.ips).toHaveLength(1); // the egress address is not a pod IP
    expect(f.applied.at(-1)).toMatchObject({
      op: 'snatAdd',
      jump: expect.stringContaining('-s 169.254.172.2/32'),
    });
    expect(new HostLocalStore(f.dataDir, 'aws-cni').find('abc123', 'eth0')).toBe('169.254.172.2');
  });

  it('a failure at every step undoes what was applied, in reverse, and releases the address', async () => {
    const steps = 14; // the IPv4 plan (test/egress-plan.test.ts pins it)
    for (let k = 1; k <= steps; k++) {
      const f = fakeDeps(k);
      const r = await run('ADD', enabled(f.dataDir), f.deps);
      expect(r.code, `step ${k}`).toBe(1);
      expect(JSON.parse(r.out), `step ${k}`).toMatchObject({
        code: 999,
        msg: expect.stringMatching(/^egress-cni: failed to set up egress: boom/),
      });
      const undo = f.applied.slice(k - 1);
      if (k >= 3) expect(undo).toContainEqual({ op: 'linkDel', ns: 'pod', name: 'v4if0' });
      expect(new HostLocalStore(f.dataDir, 'aws-cni').find('abc123', 'eth0'), `step ${k}`).toBeUndefined();
    }
  });

  it('IPv6 egress needs a global unicast node IPv6 (code 7, nothing reserved)', async () => {
    const f = fakeDeps();
    const r = await run(
      'ADD',
      enabled(f.dataDir, {
        nodeIP: 'fe80::1',
        ipam: { type: 'host-local', subnet: 'fd00::ac:00/118', dataDir: f.dataDir },
      }),
      f.deps,
    );
    expect(JSON.parse(r.out)).toMatchObject({ code: 7, msg: expect.stringMatching(/global unicast IPv6/) });
    expect(f.applied).toEqual([]);
  });

  it('DEL: chain by name, veth only with a netns, then the address; repeated DEL succeeds', async () => {
    const f = fakeDeps();
    await run('ADD', enabled(f.dataDir), f.deps);
    f.applied.length = 0;
    expect(await run('DEL', enabled(f.dataDir), f.deps)).toEqual({ out: '', code: 0 });
    expect(f.applied.map((o) => o.op)).toEqual(['snatDel', 'linkDel']);
    expect(new HostLocalStore(f.dataDir, 'aws-cni').find('abc123', 'eth0')).toBeUndefined();
    f.applied.length = 0;
    expect(await run('DEL', enabled(f.dataDir), f.deps, '')).toEqual({ out: '', code: 0 });
    expect(f.applied.map((o) => o.op)).toEqual(['snatDel']);
  });

  it('DEL failing to remove the SNAT chain fails (code 999) and keeps the address for the retry', async () => {
    const f = fakeDeps();
    await run('ADD', enabled(f.dataDir), f.deps);
    const g = fakeDeps(1);
    const r = await run('DEL', enabled(f.dataDir), g.deps);
    expect(JSON.parse(r.out)).toMatchObject({ code: 999, msg: expect.stringMatching(/SNAT rules/) });
    expect(new HostLocalStore(f.dataDir, 'aws-cni').find('abc123', 'eth0')).toBe('169.254.172.2');
  });

  it('CHECK reports what is missing', async () => {
    const f = fakeDeps();
    await run('ADD', enabled(f.dataDir), f.deps);
    const r = JSON.parse((await run('CHECK', enabled(f.dataDir), f.deps)).out) as { msg: string };
    expect(r.msg).toMatch(
      /interface v4if0 missing in the pod; host route to 169.254.172.2 missing; SNAT chain/,
    );
  });
});

const BIN = resolve(import.meta.dirname, '../../../dist/bin/egress-cni');
describe.skipIf(!existsSync(BIN))('egress-cni executable', () => {
  it('passes the prevResult through when disabled', () => {
    const r = spawnSync(BIN, [], {
      input: conf(),
      env: { ...cniEnv('ADD'), PATH: '/usr/bin:/bin' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      cniVersion: '0.4.0',
      ips: [{ address: '2600:1f14::5/128' }],
    });
  });
});
