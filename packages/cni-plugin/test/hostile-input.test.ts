// Config values that once crashed or misled the plugin (issue 22, defects 3–5): each is refused with code 7
// naming the key, a bounded description of the value and what to write instead, before ipamd or the kernel is
// touched.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import type { Deps } from '../src/commands/deps.js';
import { MAX_IPAMD_TIMEOUT_MS, parseNetConf } from '../src/cni/netconf.js';
import { run } from '../src/run.js';

const untouchable = (): Deps => {
  const no = (what: string) => () => {
    throw new Error(`${what} must not be used for invalid input`);
  };
  return {
    version: 'test',
    logger: silentLogger,
    ipam: no('ipamd'),
    policy: no('policy agent'),
    executor: no('kernel'),
    view: no('kernel view'),
    randomMac: () => '02:00:00:00:00:01',
  };
};

const env = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/none',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=p',
};

async function refuse(stdin: string): Promise<{ code: number; msg: string; details?: string }> {
  const out = await run(env, async () => stdin, untouchable);
  expect(out.exitCode).toBe(1);
  expect(out.stderr).toBe('');
  return JSON.parse(out.stdout) as { code: number; msg: string; details?: string };
}

const base = { cniVersion: '1.0.0', name: 'aws-cni', type: 'aws-cni' };
const conf = (extra: Record<string, unknown>) => JSON.stringify({ ...base, ...extra });

describe('hostile config values', () => {
  it('a deeply nested mtu is described, not stringified (defect 3)', async () => {
    for (const depth of [5_000, 100_000]) {
      const stdin = `{"cniVersion":"1.0.0","name":"aws-cni","mtu":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const e = await refuse(stdin);
      expect(e.code).toBe(7);
      expect(e.msg).toMatch(/^mtu must be a string, got an array \(\[{10,}…\)$/);
      expect(e.msg.length).toBeLessThan(120);
    }
  });
  it('any non-string field is described with its type and a bounded excerpt', async () => {
    const e = await refuse(conf({ vethPrefix: { a: 'x'.repeat(100_000) } }));
    expect(e.code).toBe(7);
    expect(e.msg).toMatch(/^vethPrefix must be a string, got an object \(\{"a":"xxx+…\)$/);
    expect(e.msg.length).toBeLessThan(120);
    const long = await refuse(conf({ podSGEnforcingMode: 'y'.repeat(1_000_000) }));
    expect(long.msg.length).toBeLessThan(120);
  });
  it('ipamdTimeoutMs beyond the 32-bit timer range is refused before anything is sent (defect 4)', async () => {
    for (const bad of [2 ** 31, 1e300, 0, -5, 1.5, '30000', [30000]]) {
      const e = await refuse(conf({ ipamdTimeoutMs: bad }));
      expect(e.code).toBe(7);
      expect(e.msg).toContain('ipamdTimeoutMs must be a whole number of milliseconds from 1 to 2147483647');
    }
    expect((await refuse(conf({ ipamdTimeoutMs: 2147483648 }))).msg).toMatch(/got a number \(2147483648\)$/);
    expect(parseNetConf(conf({ ipamdTimeoutMs: MAX_IPAMD_TIMEOUT_MS })).ipamdTimeoutMs).toBe(2 ** 31 - 1);
  });
  it('an invalid ipamdEndpoint is a config error naming the key, the value and the forms (defect 5)', async () => {
    for (const bad of ['nohost', '127.0.0.1:99999', 'localhost:0', 'unix://relative.sock', ':50051', '']) {
      const e = await refuse(conf({ ipamdEndpoint: bad }));
      expect(e.code).toBe(7);
      expect(e.msg).toContain(`ipamdEndpoint a string (${JSON.stringify(bad)}) is not a valid endpoint`);
      expect(e.details).toContain('unix:///path/to.sock');
      expect(e.details).toContain('host:port');
      expect(`${e.msg} ${e.details}`).not.toMatch(/RangeError|Received type|ERR_/);
    }
    const longPath = await refuse(conf({ ipamdEndpoint: `unix:///${'d/'.repeat(80)}s.sock` }));
    expect(longPath.msg).toContain('at most 107 bytes');
    for (const good of [
      'unix:///run/x.sock',
      'unix:/run/x.sock',
      '/run/x.sock',
      '127.0.0.1:50051',
      '[::1]:1',
    ])
      expect(parseNetConf(conf({ ipamdEndpoint: good })).ipamdEndpoint).toBe(good);
  });
  it('an invalid npaEndpoint is a config error naming the key, the value and the forms', async () => {
    for (const bad of ['nohost', 'unix://relative.sock', '', 7]) {
      const e = await refuse(conf({ npaEndpoint: bad }));
      expect(e.code).toBe(7);
      expect(e.msg).toMatch(/^npaEndpoint (must be a string|.* is not a valid endpoint)/);
    }
    const e = await refuse(conf({ npaEndpoint: 'nohost' }));
    expect(e.details).toContain('unix:///path/to.sock');
    expect(e.details).toContain('unix:///var/run/aws-node/npa.sock');
  });
});
