// The harness's ownership (owner.ts) and the sweep the e2e project runs first (sweep.ts), against the real kernel:
// a daemon dies with the test process that spawned it; a dead owner's netns, mount, directory and orphaned process
// are removed while a live owner's stay (as two runs side by side must not remove each other's).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OWNER_VAR, claim, ownerAlive, ownerToken, startTime } from './owner.js';
import { sweepDeadOwners } from './sweep.js';

const tag = randomBytes(3).toString('hex');
const registry = mkdtempSync(join(tmpdir(), 'vct-sweep-registry-'));
const children: ChildProcess[] = [];
const made: { netns: string[]; dirs: string[] } = { netns: [], dirs: [] };

const quietly = (f: () => unknown) => {
  try {
    f();
  } catch {
    // already gone (the sweep removed it)
  }
};
afterAll(() => {
  // each child leads its own process group (a daemon's sleep included)
  for (const c of children) quietly(() => process.kill(-c.pid!, 'SIGKILL'));
  for (const ns of made.netns) quietly(() => execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }));
  for (const d of made.dirs) {
    if (mounted(join(d, 'm'))) execFileSync('umount', ['-l', join(d, 'm')]);
    rmSync(d, { recursive: true, force: true });
  }
  rmSync(registry, { recursive: true, force: true });
});

const mounted = (path: string) =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === path);
const netnsExists = (name: string) => existsSync(`/run/netns/${name}`);
const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => c.once('exit', () => r()));
const track = (c: ChildProcess) => (children.push(c), c);
const detached = true;
const envOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

/** A process standing in for a test process (an owner); `sleep` so it does nothing else. */
const standIn = () => track(spawn('sleep', ['120'], { stdio: 'ignore', detached }));

/** What a test process of `owner` creates: a claimed netns, a claimed directory with a tmpfs in it, a daemon. */
function resourcesOf(owner: string, name: string) {
  const netns = `vct-sw-${tag}-${name}`;
  const dir = join(tmpdir(), `vct-sw-${tag}-${name}`);
  claim('netns', netns, { owner, registry });
  execFileSync('ip', ['netns', 'add', netns]);
  made.netns.push(netns);
  claim('dir', dir, { owner, registry });
  mkdirSync(join(dir, 'm'), { recursive: true });
  made.dirs.push(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', `vct-sw-${tag}`, join(dir, 'm')]);
  // a daemon that outlived its owner, with a child of its own (a shim and its pause)
  const daemon = track(
    spawn('sh', ['-c', 'sleep 120 & wait'], {
      stdio: 'ignore',
      detached,
      env: { PATH: process.env['PATH'], [OWNER_VAR]: owner },
    }),
  );
  return { netns, dir, daemon };
}

describe('harness ownership and the e2e start-up sweep', () => {
  it('a daemon spawned with spawnOwned carries its owner and dies when the owner is SIGKILLed', async () => {
    const script = `import { spawnOwned } from ${JSON.stringify(resolve(import.meta.dirname, 'owner.ts'))};
      const c = spawnOwned('sleep', ['120'], { stdio: 'ignore' });
      console.log(c.pid); setInterval(() => {}, 1000);`;
    const owner = track(
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
        detached,
      }),
    );
    const daemonPid = await new Promise<number>((ok, fail) => {
      owner.stdout!.once('data', (b: Buffer) => ok(Number(b.toString().trim())));
      owner.once('exit', (code) => fail(new Error(`stand-in owner exited (${String(code)})`)));
    });
    // the command itself once setpriv has exec'd it, marked with its owner. Until then the cmdline reads as node's,
    // setpriv's, or empty (while an execve is between replacing the memory map and laying out the new arguments,
    // which a loaded machine can stretch): wait for `sleep`, up to 10 s.
    const command = () => readFileSync(`/proc/${daemonPid}/cmdline`, 'utf8').split('\0')[0];
    for (let i = 0; i < 200 && command() !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(command()).toBe('sleep');
    expect(envOf(daemonPid)).toContain(`${OWNER_VAR}=${ownerToken(owner.pid!)}`);
    owner.kill('SIGKILL');
    await exited(owner);
    // killed by the kernel: gone, or a zombie until init reaps it
    for (let i = 0; i < 50 && startTime(daemonPid) !== undefined; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(startTime(daemonPid)).toBeUndefined();
  });

  it("removes a dead owner's process, netns, mount and directory; a live owner's stay", async () => {
    const dead = standIn();
    const deadOwner = ownerToken(dead.pid!);
    const live = standIn();
    const liveOwner = ownerToken(live.pid!);
    const d = resourcesOf(deadOwner, 'dead');
    const l = resourcesOf(liveOwner, 'live');
    dead.kill('SIGKILL');
    await exited(dead);
    expect(ownerAlive(deadOwner)).toBe(false);
    expect(ownerAlive(liveOwner)).toBe(true);

    const r = sweepDeadOwners({ registry });

    await exited(d.daemon); // (the test times out if not)
    expect(r.processes).toContain(d.daemon.pid);
    expect(r.processes.length).toBeGreaterThanOrEqual(2); // the daemon's sleep too
    expect(netnsExists(d.netns)).toBe(false);
    expect(mounted(join(d.dir, 'm'))).toBe(false);
    expect(existsSync(d.dir)).toBe(false);
    expect(existsSync(join(registry, deadOwner))).toBe(false);
    expect(r.owners).toEqual([deadOwner]);
    expect(r).toMatchObject({ netns: [d.netns], dirs: [d.dir], mounts: [join(d.dir, 'm')] });

    expect(l.daemon.exitCode === null && l.daemon.signalCode === null).toBe(true);
    expect(netnsExists(l.netns)).toBe(true);
    expect(mounted(join(l.dir, 'm'))).toBe(true);
    expect(existsSync(join(registry, liveOwner))).toBe(true);
  });

  it('at exit, a process drops its registry file when all its claims are gone, and keeps one that has some left', async () => {
    const clean = join(registry, 'clean');
    const left = join(registry, 'left');
    const [gone, kept] = [`gone-${tag}`, `kept-${tag}`].map((n) => join(tmpdir(), `vct-sw-${n}`));
    made.dirs.push(kept!, gone!);
    const script = `import { OWNER, claim } from ${JSON.stringify(resolve(import.meta.dirname, 'owner.ts'))};
      import { mkdirSync, rmSync } from 'node:fs';
      claim('dir', ${JSON.stringify(gone)}, { registry: ${JSON.stringify(clean)} });
      mkdirSync(${JSON.stringify(gone)}); rmSync(${JSON.stringify(gone)}, { recursive: true });
      claim('dir', ${JSON.stringify(kept)}, { registry: ${JSON.stringify(left)} });
      mkdirSync(${JSON.stringify(kept)});
      console.log(OWNER);`;
    const child = track(
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await exited(child);
    expect(child.exitCode).toBe(0);
    const owner = out.trim();
    expect(owner).toMatch(/^\d+-\d+$/);
    expect(existsSync(join(clean, owner))).toBe(false);
    expect(readFileSync(join(left, owner), 'utf8')).toBe(`dir ${kept}\n`);
  });

  it('a claim outside the vct- prefix is refused', () => {
    expect(() => claim('netns', 'eth0-ns', { owner: '1-1', registry })).toThrow(/does not start with vct-/);
    expect(() => claim('dir', 'vct-relative', { owner: '1-1', registry })).toThrow(/absolute/);
  });
});
