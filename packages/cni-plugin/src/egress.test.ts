// egress-cni when disabled (every default conflist chains it): transparent on ADD/DEL/CHECK, clear errors
// otherwise. Also through the real single executable, called by its hardlink name.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEgress } from './egress.js';

const prev = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eni0761ccbeace' }, { name: 'eth0', sandbox: '/var/run/netns/x' }],
  ips: [{ address: '10.0.1.5/32', interface: 1 }],
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
const run = (cmd: string, stdin: string) =>
  runEgress({ env: { CNI_COMMAND: cmd }, stdin: async () => stdin });

describe('egress-cni (disabled)', () => {
  it('ADD prints the prevResult in the config version', async () => {
    const r = await run('ADD', conf());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      ...prev,
      cniVersion: '0.4.0',
      dns: {}, // as aws-cni prints 0.4.0 results
      ips: [{ version: '4', address: '10.0.1.5/32', interface: 1 }],
    });
  });

  it.each(['DEL', 'CHECK'])('%s succeeds with no output', async (cmd) => {
    expect(await run(cmd, conf())).toEqual({ out: '', code: 0 });
  });

  it('VERSION lists the supported versions', async () => {
    expect(JSON.parse((await run('VERSION', '')).out).supportedVersions).toContain('1.1.0');
  });

  it('errors: not chained, enabled, bad JSON', async () => {
    const notChained = await run('ADD', conf({ prevResult: undefined }));
    expect(notChained.code).toBe(1);
    expect(JSON.parse(notChained.out)).toMatchObject({ code: 7, msg: 'must be called as a chained plugin' });
    const enabled = JSON.parse((await run('ADD', conf({ enabled: 'true' }))).out) as {
      msg: string;
      details: string;
    };
    expect(enabled.msg).toMatch(/not implemented/);
    expect(enabled.details).toMatch(/ENABLE_V6_EGRESS=false/);
    expect(JSON.parse((await run('ADD', '{')).out)).toMatchObject({ code: 6 });
  });
});

const BIN = resolve(import.meta.dirname, '../../../dist/bin/egress-cni');
describe.skipIf(!existsSync(BIN))('egress-cni executable', () => {
  it('passes the prevResult through when disabled', () => {
    const r = spawnSync(BIN, [], {
      input: conf(),
      env: { CNI_COMMAND: 'ADD', PATH: '/usr/bin:/bin' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: '0.4.0', ips: [{ address: '10.0.1.5/32' }] });
  });
});
