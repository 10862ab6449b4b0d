// The command dispatcher (run): bad input, the versions that allow CHECK, GC and STATUS, VERSION. Fixture:
// commands-fixture.ts.
import { describe, expect, it } from 'vitest';
import { run } from '../src/run.js';
import { world } from './commands-fixture.js';

describe('dispatcher', () => {
  const deps = () => world({}).deps;
  it('prints the error JSON with exit 1 and no kernel change for bad input', async () => {
    const out = await run({ CNI_COMMAND: 'ADD' }, async () => '{}', deps);
    expect(out.exitCode).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 3, msg: 'missing containerID' });
  });
  it('GC and STATUS need 1.1.0; CHECK needs 0.4.0', async () => {
    const r = await run(
      { CNI_COMMAND: 'GC', CNI_PATH: '/x' },
      async () => '{"name":"n","cniVersion":"1.0.0"}',
      deps,
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 1, msg: 'config version does not allow GC' });
    const raw = {
      CNI_COMMAND: 'CHECK',
      CNI_CONTAINERID: 'cid',
      CNI_NETNS: '/var/run/netns/p',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/x',
    };
    const c = await run(raw, async () => '{"name":"n","cniVersion":"0.3.1"}', deps);
    expect(JSON.parse(c.stdout)).toMatchObject({ code: 1, msg: 'config version does not allow CHECK' });
    expect(c.exitCode).toBe(1);
  });
  it('VERSION ignores stdin and ends with a newline', async () => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, () => Promise.reject(new Error('must not read')), deps);
    expect(r).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/"supportedVersions".*\}\n$/) });
  });
});
