// Restart without a gap: a child process holding the datapath is killed with SIGKILL while probes run; a
// second one adopts the pins (same objects: same program ids) or, with changed objects, replaces the programs
// atomically. Allowed flows never fail, denied flows never pass.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_TCP } from './contract.js';
import { defaultObjectDir } from './datapath.js';
import { objectFile } from './pins.js';
import { createWorld, repoRoot, type World } from '../../test/world.js';

const KEY = 'api-5d8f@prod';

describe('restart without a gap (kernel)', { timeout: 120_000 }, () => {
  let w: World;
  const children: ChildProcess[] = [];
  let policy: string;

  beforeAll(async () => {
    w = await createWorld('rst');
    policy = JSON.stringify({ [`${w.peerIp}/32`]: [{ protocol: PROTO_TCP, startPort: 80, endPort: 0 }] });
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    w?.cleanup();
  });

  /** Starts a holder; resolves with its program ids once it is enforcing. */
  function holder(objectDir?: string): Promise<{ proc: ChildProcess; ids: [number, number] }> {
    const args = [
      w.pinRoot,
      `/var/run/netns/${w.node}`,
      w.veth,
      KEY,
      policy,
      ...(objectDir ? [objectDir] : []),
    ];
    // node itself (not the tsx wrapper script), so SIGKILL hits the process that holds the datapath
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'packages/network-policy-agent/test/holder.ts'), ...args],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot },
    );
    children.push(proc);
    return new Promise((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
      createInterface({ input: proc.stdout! }).on('line', (l) => {
        const m = /^ready (\d+) (\d+) (\d+)$/.exec(l);
        if (m && Number(m[3]) !== proc.pid)
          reject(new Error(`holder pid ${m[3]} is not the spawned ${proc.pid}`));
        if (m) resolve({ proc, ids: [Number(m[1]), Number(m[2])] });
      });
    });
  }

  const killed = (p: ChildProcess) =>
    new Promise<void>((resolve) => {
      p.removeAllListeners('exit');
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });

  it('kill -9 under continuous probes: 0 failed allowed flows, 0 passed denied flows; pins adopted', async () => {
    const first = await holder();
    const allowed = w.peerProbe.send({
      op: 'loop_tcp',
      dst: w.podIp,
      port: 80,
      seconds: 8,
      timeout: 3,
      interval: 0.02,
    });
    const denied = w.peerProbe.send({
      op: 'loop_tcp',
      dst: w.podIp,
      port: 81,
      seconds: 8,
      timeout: 0.5,
      interval: 0.02,
    });
    await new Promise((r) => setTimeout(r, 1500));
    await killed(first.proc);
    await new Promise((r) => setTimeout(r, 1000)); // nobody holds the datapath: the kernel keeps enforcing
    const second = await holder();
    expect(second.ids).toEqual(first.ids); // same objects: the pinned programs are adopted, not reloaded
    const [a, d] = await Promise.all([allowed, denied]);
    expect(a.success).toBeGreaterThan(10);
    expect(a.failure).toBe(0);
    expect(d.failure).toBeGreaterThan(3);
    expect(d.success).toBe(0);
    await killed(second.proc);
  });

  it('changed objects: the programs are replaced atomically under probes', async () => {
    const dir = mkdtempSync('/tmp/npa-objs-');
    try {
      for (const what of ['ingress', 'egress', 'events'] as const) {
        const f = objectFile('ipv4', what);
        copyFileSync(join(defaultObjectDir(), f), join(dir, f));
        if (what !== 'events') appendFileSync(join(dir, f), Buffer.from('rebuilt')); // another hash
      }
      const before = await holder();
      const allowed = w.peerProbe.send({
        op: 'loop_tcp',
        dst: w.podIp,
        port: 80,
        seconds: 6,
        timeout: 3,
        interval: 0.02,
      });
      const denied = w.peerProbe.send({
        op: 'loop_tcp',
        dst: w.podIp,
        port: 81,
        seconds: 6,
        timeout: 0.5,
        interval: 0.02,
      });
      await new Promise((r) => setTimeout(r, 1000));
      await killed(before.proc);
      const after = await holder(dir);
      expect(after.ids[0]).not.toBe(before.ids[0]);
      expect(after.ids[1]).not.toBe(before.ids[1]);
      const [a, d] = await Promise.all([allowed, denied]);
      expect(a.failure).toBe(0);
      expect(a.success).toBeGreaterThan(10);
      expect(d.success).toBe(0);
      await killed(after.proc);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
