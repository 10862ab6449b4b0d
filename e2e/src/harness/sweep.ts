// What a killed run left behind, removed at the start of the next (docs/architecture.md, "Test harness"): only
// what belongs to an owner (owner.ts) that no longer runs, so a run beside this one keeps everything it has.
// 1. processes whose environment says VCT_OWNER=<dead owner> (daemons started by what setpriv's parent-death
//    signal killed: ipamd under aws-vpc-cni, containerd's shims), with their descendants (a shim's pause);
// 2. per dead owner's claims: mounts below its directories (overlay snapshots, pod netns, bpffs), its netns, the
//    directories; then the cgroups of its containerd's sandboxes; then the claim file.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { OWNER_VAR, PREFIX, REGISTRY, childrenOf, ownerAlive } from './owner.js';

export interface SweepResult {
  /** PIDs killed. */
  processes: number[];
  netns: string[];
  dirs: string[];
  mounts: string[];
  cgroups: string[];
  /** Owners whose claims were processed (dead ones). */
  owners: string[];
}

const pids = (): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

const ownerOf = (pid: number): string | undefined => {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env.find((e) => e.startsWith(`${OWNER_VAR}=`))?.slice(OWNER_VAR.length + 1);
  } catch {
    return undefined; // gone, or a kernel thread
  }
};

const cmdline = (pid: number): string[] => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

const descendants = (pid: number): number[] => childrenOf(pid).flatMap((c) => [...descendants(c), c]);

const kill = (pid: number): boolean => {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false; // already gone
  }
};

/** Mount points at or below `dir`, deepest first. */
const mountsAt = (dir: string): string[] =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort()
    .reverse();

/** Sandbox ids a containerd under `dir` ran (runtime v2 task state), whose cgroups are named after them. */
const sandboxesUnder = (dir: string): string[] => {
  try {
    return readdirSync(join(dir, 'state/io.containerd.runtime.v2.task/k8s.io'));
  } catch {
    return [];
  }
};

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

export function sweepDeadOwners(o: { registry?: string } = {}): SweepResult {
  const registry = o.registry ?? REGISTRY;
  const r: SweepResult = { processes: [], netns: [], dirs: [], mounts: [], cgroups: [], owners: [] };
  const sandboxes = new Set<string>();

  // 1. Orphaned daemons of dead owners and their descendants (a shim's pause is not marked: it has the OCI spec's
  //    environment).
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    const owner = ownerOf(pid);
    if (owner === undefined || ownerAlive(owner)) continue;
    const args = cmdline(pid);
    if (args[0]?.includes('containerd-shim') && args.includes('-id'))
      sandboxes.add(args[args.indexOf('-id') + 1]!);
    // listed first, then killed parent first: a parent that sees its child die must not exit on its own first
    for (const p of [pid, ...descendants(pid)]) if (kill(p)) r.processes.push(p);
  }

  // 2. Dead owners' claims.
  let files: string[] = [];
  try {
    files = readdirSync(registry);
  } catch {
    // no registry yet: nothing was ever claimed
  }
  for (const owner of files) {
    if (ownerAlive(owner)) continue;
    r.owners.push(owner);
    const file = join(registry, owner);
    const claims = readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => /^(netns|dir) (.+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && basename(m[2]!).startsWith(PREFIX));
    for (const [, kind, name] of claims) {
      if (kind === 'dir' && isDir(name!)) {
        for (const id of sandboxesUnder(name!)) sandboxes.add(id);
        for (const m of mountsAt(name!)) {
          try {
            execFileSync('umount', ['-l', m], { stdio: 'ignore' });
            r.mounts.push(m);
          } catch {
            // below one already detached (umount -l takes the whole subtree)
          }
        }
        rmSync(name!, { recursive: true, force: true });
        r.dirs.push(name!);
      } else if (kind === 'netns' && !name!.includes('/')) {
        try {
          execFileSync('ip', ['netns', 'del', name!], { stdio: 'ignore' });
          r.netns.push(name!);
        } catch {
          // removed by its owner before it died
        }
      }
    }
    unlinkSync(file);
  }

  // 3. Cgroups of the dead containerds' sandboxes (every controller of cgroup v1, or the v2 tree), once the killed
  //    processes have left them (rmdir fails on a cgroup that still has a process: retried briefly).
  const pending = [...sandboxes].flatMap((id) =>
    (isDir('/sys/fs/cgroup/k8s.io') ? ['.'] : readdirSync('/sys/fs/cgroup')).map((c) =>
      join('/sys/fs/cgroup', c, 'k8s.io', id),
    ),
  );
  for (let attempt = 0; attempt < 20 && pending.length > 0; attempt++) {
    for (const cg of pending.splice(0)) {
      try {
        rmdirSync(cg);
        r.cgroups.push(cg);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EBUSY') pending.push(cg);
      }
    }
    if (pending.length > 0) execFileSync('sleep', ['0.1']);
  }
  return r;
}
