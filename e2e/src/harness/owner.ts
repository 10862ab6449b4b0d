// Who owns what the harness creates, so that a run killed half-way (SIGKILL of vitest: no afterAll, no 'exit'
// handler) leaves nothing another run cannot remove safely (docs/architecture.md, "Test harness"):
// - every daemon is spawned under `setpriv --pdeathsig SIGKILL`: the kernel kills it when the test process that
//   started it dies, and carries VCT_OWNER=<owner> in its environment (inherited by what it starts: ipamd under
//   aws-vpc-cni, containerd's shims);
// - every netns and directory is claimed before it is created: one line in /run/vct-owners/<owner>.
// <owner> is the test process's PID and its start time (so a reused PID is not mistaken for the owner).
// sweep.ts removes what belongs to owners that no longer run, and nothing else.
import { type ChildProcess, type SpawnOptions, execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** Where owners' claims are kept (tmpfs: gone at reboot, as the netns are). */
export const REGISTRY = '/run/vct-owners';
export const OWNER_VAR = 'VCT_OWNER';
/** Every name the harness gives a netns or a directory starts with this; nothing else is ever swept. */
export const PREFIX = 'vct-';

/**
 * Start time of a running process in clock ticks after boot (field 22 of /proc/<pid>/stat); undefined when it is
 * gone or a zombie (dead, not yet reaped: its parent may be an init that never reaps).
 */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** `<pid>-<start time>` of a running process. */
export function ownerToken(pid: number): string {
  const t = startTime(pid);
  if (t === undefined) throw new Error(`process ${pid} is not running`);
  return `${pid}-${t}`;
}

/** Whether the process a token names still runs (the same process: same PID and start time). */
export function ownerAlive(token: string): boolean {
  const m = /^(\d+)-(\d+)$/.exec(token);
  if (!m) return true; // not one of ours: treated as alive, so never swept
  return startTime(Number(m[1])) === m[2];
}

/** This process as an owner. */
export const OWNER = ownerToken(process.pid);

export type ClaimKind = 'netns' | 'dir';

/** Records that `owner` is about to create a netns (by name) or a directory (absolute path) named `vct-*`. */
export function claim(kind: ClaimKind, name: string, o: { owner?: string; registry?: string } = {}): void {
  if (!basename(name).startsWith(PREFIX)) throw new Error(`claim: ${name} does not start with ${PREFIX}`);
  if (kind === 'dir' && !name.startsWith('/')) throw new Error(`claim: ${name} is not an absolute path`);
  const registry = o.registry ?? REGISTRY;
  mkdirSync(registry, { recursive: true });
  const file = join(registry, o.owner ?? OWNER);
  appendFileSync(file, `${kind} ${name}\n`);
  if ((o.owner ?? OWNER) === OWNER && !ownFiles.has(file)) {
    if (ownFiles.size === 0) process.once('exit', dropOwnReleased);
    ownFiles.add(file);
  }
}

/** The registry files this process claimed in as itself. */
const ownFiles = new Set<string>();

/**
 * Removes each of this process's registry files whose claims are all gone. Runs at a normal exit (the demo, a
 * script); a vitest worker is ended by a signal instead, so the kernel and e2e projects call it after each file
 * (./drop-claims.setup.ts).
 */
export function dropOwnReleased(): void {
  ownFiles.forEach(dropIfReleased);
}

/**
 * Removes a registry file whose claims are all gone (every netns deleted, every directory removed), so that a run
 * that cleaned up after itself leaves no file behind either. Claims still standing keep it for the next sweep.
 */
export function dropIfReleased(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return; // already gone
  }
  const standing = text.split('\n').some((l) => {
    const m = /^(netns|dir) (.+)$/.exec(l);
    return m !== null && existsSync(m[1] === 'netns' ? `/run/netns/${m[2]}` : m[2]!);
  });
  if (!standing) rmSync(file, { force: true });
}

/** `ip netns add`, claimed first. */
export function addOwnedNetns(name: string): void {
  claim('netns', name);
  execFileSync('ip', ['netns', 'add', name]);
}

/** A fresh directory `<tmpdir>/<prefix>XXXXXX` (prefix `vct-...-`), claimed. */
export function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  claim('dir', dir);
  return dir;
}

/**
 * spawn(), with the child killed by the kernel when this process dies (PR_SET_PDEATHSIG through setpriv, which
 * then execs the command: the child's PID is the command's) and VCT_OWNER set in its environment (`opts.env`, or
 * this process's when none is given). The kernel sends the signal when the spawning *thread* ends: vitest's default
 * `forks` pool runs each test file on the main thread of its own process.
 */
export function spawnOwned(command: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args], {
    ...opts,
    env: { ...(opts.env ?? process.env), [OWNER_VAR]: OWNER },
  });
}

/** The direct children of a process, from every one of its threads; [] once it is gone. */
export const childrenOf = (pid: number): number[] => {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
};
