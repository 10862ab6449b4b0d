// A server of this process reached from inside a throwaway netns at 169.254.169.254:80 (via the unix bridge and the
// in-namespace proxy), while the root netns gets no such address; the proxy stops by PID and leaves nothing.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { bridgeToUnix, startNetnsProxy } from './index.js';
import { addOwnedNetns, ownedTempDir } from '../harness/owner.js';

const ns = `vct-proxy-${randomBytes(3).toString('hex')}`;
const dir = ownedTempDir('vct-proxy-');
afterAll(() => {
  execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
});

it('serves an in-process HTTP server at 169.254.169.254 inside a netns', async () => {
  addOwnedNetns(ns);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['-n', ns, 'addr', 'add', '169.254.169.254/32', 'dev', 'lo']);
  const http = createServer((req, res) => res.end(`hello ${req.url ?? ''}`));
  const unbridge = await bridgeToUnix(http, join(dir, 'imds.sock'));
  const proxy = await startNetnsProxy(`/var/run/netns/${ns}`, [
    { host: '169.254.169.254', port: 80, unix: join(dir, 'imds.sock') },
  ]);
  try {
    // Asynchronously: the answering server lives in this very process. Node's fetch inside the netns is the client.
    const { stdout } = await promisify(execFile)('ip', [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      "fetch('http://169.254.169.254/latest').then(async (r) => process.stdout.write(await r.text()))",
    ]);
    expect(stdout).toBe('hello /latest');
    // Nothing of this exists in the root netns.
    expect(execFileSync('ip', ['-j', 'addr'], { encoding: 'utf8' })).not.toContain('169.254.169.254');
  } finally {
    await proxy.stop();
    await unbridge();
  }
  expect(() => process.kill(proxy.pid, 0)).toThrow();
});
