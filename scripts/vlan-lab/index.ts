// The VLAN lab: runs `node:test` files that need 802.1Q, either directly (host kernel with VLAN support) or in a
// QEMU guest booted with Debian's kernel (this CI VM has no 802.1Q). How it works: scripts/vlan-lab/README.md.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { bootGuest, type Share } from './boot.js';
import { CACHE, REPO, guestImages } from './images.js';

export { KERNEL, MODULES, guestImages } from './images.js';

export interface LabTest {
  name: string;
  file: string;
  status: 'pass' | 'fail' | 'skip' | 'todo';
  durationMs: number;
  error?: string;
}

export interface LabRun {
  where: 'guest' | 'host';
  tests: LabTest[];
  /** Exit code of `node --test` (undefined: it did not finish or report). */
  exitCode: number | undefined;
  /** What went wrong outside the tests (boot, timeout), with the console/log tail; '' when nothing did. */
  problem: string;
  /** Guest only: QEMU start → init's first line. */
  bootMs: number | undefined;
  /** Guest only: init's and run.sh's progress lines, stamped with the guest's uptime in seconds. */
  timeline: string[];
  totalMs: number;
  /** Where the JUnit report and logs of this run were copied (kept until the next run). */
  reportDir: string;
}

export interface LabOptions {
  /** node:test source files (TypeScript), bundled with esbuild. */
  files: string[];
  /** Overall limit, boot included (default 900 s, VLAN_LAB_TIMEOUT_S: a guard against hangs, not the budget). */
  timeoutMs?: number;
  /** 'auto' (default, VLAN_LAB env): the host when its kernel has 802.1Q, else the guest. */
  where?: 'auto' | 'guest' | 'host';
}

/** Whether this kernel can create a VLAN link (tried in a throwaway netns). */
export function hostHasVlan(): boolean {
  const ns = `vct-vlanprobe-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'add', 't0', 'type', 'veth', 'peer', 'name', 't1']);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'link', 't0', 'name', 't0.5', 'type', 'vlan', 'id', '5'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // never created
    }
  }
}

/** koffi stays outside the bundle (native addon), imported by absolute path from the repository. */
function koffiExternal(): Plugin {
  const req = createRequire(join(REPO, 'packages/shared/package.json'));
  return {
    name: 'koffi-external',
    setup(b) {
      b.onResolve({ filter: /^koffi$/ }, () => ({ path: req.resolve('koffi'), external: true }));
    },
  };
}

/**
 * The sources find the repository (dist/bin, fixtures, helper scripts) from their own directory: each module's
 * `import.meta.dirname` becomes that module's directory (in a bundle it would be the bundle's).
 */
function ownDirname(): Plugin {
  return {
    name: 'own-dirname',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, (a) => {
        if (a.path.includes('/node_modules/')) return undefined;
        const src = readFileSync(a.path, 'utf8');
        if (!src.includes('import.meta.dirname')) return undefined;
        return {
          contents: src.replaceAll('import.meta.dirname', JSON.stringify(dirname(a.path))),
          loader: 'ts',
        };
      });
    },
  };
}

async function bundle(file: string, outDir: string): Promise<string> {
  const out = join(outDir, `${basename(file).replace(/\.ts$/, '')}.mjs`);
  await build({
    entryPoints: [file],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    plugins: [koffiExternal(), ownDirname()],
  });
  return out;
}

function nodeTestArgs(dir: string, bundles: string[], timeoutMs: number): string[] {
  return [
    '--test',
    // the files are independent (own netns, own canned ipamd): both vCPUs work while one file waits
    '--test-concurrency=2',
    `--test-timeout=${Math.round(timeoutMs)}`,
    '--test-reporter=junit',
    `--test-reporter-destination=${dir}/junit.xml`,
    `--test-reporter=${dir}/reporter.mjs`,
    `--test-reporter-destination=${dir}/results.jsonl`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    ...(process.env['VLAN_LAB_TEST_PATTERN']
      ? [`--test-name-pattern=${process.env['VLAN_LAB_TEST_PATTERN']}`]
      : []),
    ...bundles,
  ];
}

/** Single-quoted for sh. */
const shq = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;

function guestScript(labDir: string, bundles: string[], shares: Share[], testTimeoutMs: number): string {
  const mounts = shares
    .filter((s) => s.tag !== 'lab')
    .map(
      (s) =>
        `mkdir -p '${s.path}' && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro ${s.tag} '${s.path}'`,
    );
  const inGuest = (p: string) => p.replace(labDir, '/lab/out');
  return [
    'set -e',
    ...mounts,
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/bb HOME=/tmp',
    // the guest's own loopback: tests serve simulators on 127.0.0.1 (the host has it up already)
    'ip link set lo up',
    `cd '${REPO}'`,
    'echo "vlan-lab: node start $(cut -d" " -f1 /proc/uptime)"',
    'set +e',
    `VLAN_LAB_REPO='${REPO}' '${process.execPath}' ${nodeTestArgs('/lab/out', bundles.map(inGuest), testTimeoutMs).map(shq).join(' ')}`,
    'rc=$?',
    'echo "vlan-lab: node done rc=$rc $(cut -d" " -f1 /proc/uptime)"',
    'exit $rc',
    '',
  ].join('\n');
}

/** Read-only shares: /usr (iproute2, iptables, libs), /etc, the repository, and the node runtime if elsewhere. */
function roShares(): Share[] {
  const shares: Share[] = [
    { tag: 'usr', path: '/usr', readonly: true },
    { tag: 'etc', path: '/etc', readonly: true },
    { tag: 'repo', path: REPO, readonly: true },
  ];
  const nodeDir = dirname(process.execPath);
  if (!shares.some((s) => nodeDir === s.path || nodeDir.startsWith(`${s.path}/`)))
    shares.push({ tag: 'node', path: nodeDir, readonly: true });
  return shares;
}

function hostRun(
  dir: string,
  bundles: string[],
  timeoutMs: number,
): Promise<{ rc: number | undefined; log: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, nodeTestArgs(dir, bundles, timeoutMs - 5_000), {
      cwd: REPO,
      env: { ...process.env, VLAN_LAB_REPO: REPO },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const add = (d: Buffer) => (log = (log + d.toString()).slice(-(64 << 10)));
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ rc: code ?? undefined, log });
    });
  });
}

function readTests(dir: string): LabTest[] {
  const f = join(dir, 'results.jsonl');
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LabTest);
}

function keepReports(dir: string): string {
  const keep = join(CACHE, 'last-run');
  rmSync(keep, { recursive: true, force: true });
  mkdirSync(keep, { recursive: true });
  for (const f of ['junit.xml', 'results.jsonl', 'guest.log', 'console.log', 'host.log', 'run.sh'])
    if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(keep, f));
  return keep;
}

/** Bundles the files, runs them where 802.1Q exists, and returns one entry per test. Leaves nothing behind. */
export async function runVlanLab(opts: LabOptions): Promise<LabRun> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? Number(process.env['VLAN_LAB_TIMEOUT_S'] ?? 900) * 1000;
  const mode = opts.where ?? ((process.env['VLAN_LAB'] ?? 'auto') as 'auto' | 'guest' | 'host');
  const where = mode === 'auto' ? (hostHasVlan() ? 'host' : 'guest') : mode;
  const dir = mkdtempSync(join(tmpdir(), 'vlan-lab-'));
  try {
    const bundles = await Promise.all(opts.files.map((f) => bundle(f, dir)));
    copyFileSync(join(import.meta.dirname, 'reporter.mjs'), join(dir, 'reporter.mjs'));
    let exitCode: number | undefined;
    let problem = '';
    let bootMs: number | undefined;
    const timeline: string[] = [];
    if (where === 'host') {
      const r = await hostRun(dir, bundles, timeoutMs);
      writeFileSync(join(dir, 'host.log'), r.log);
      exitCode = r.rc;
      if (r.rc === undefined)
        problem = `node --test did not finish within ${timeoutMs} ms:\n${r.log.slice(-3000)}`;
    } else {
      const images = guestImages();
      const shares = [{ tag: 'lab', path: dir, readonly: false }, ...roShares()];
      const remaining = Math.max(30_000, timeoutMs - (performance.now() - t0));
      // node:test stops the tests (boot allowed for) before the host stops the guest: the reports still get written
      writeFileSync(join(dir, 'run.sh'), guestScript(dir, bundles, shares, remaining - 60_000));
      const b = await bootGuest(images, shares, remaining);
      writeFileSync(join(dir, 'console.log'), b.console);
      exitCode = b.rc;
      bootMs = b.bootMs;
      const log = existsSync(join(dir, 'guest.log')) ? readFileSync(join(dir, 'guest.log'), 'utf8') : '';
      for (const l of `${b.console}\n${log}`.split(/\r?\n/))
        if (l.startsWith('vlan-lab: ')) timeline.push(l.slice(10));
      if (b.rc === undefined) {
        problem =
          (b.timedOut
            ? `the guest did not finish within ${Math.round(remaining)} ms (VLAN_LAB_TIMEOUT_S)`
            : `the guest stopped without an exit code (QEMU exit ${b.qemuExit}: kernel panic or QEMU failure)`) +
          `\n--- console ---\n${b.console.slice(-3000)}\n--- guest.log ---\n${log.slice(-3000)}`;
      }
    }
    const tests = readTests(dir);
    if (!problem && tests.length === 0) problem = `no test reported (exit ${exitCode})`;
    return {
      where,
      tests,
      exitCode,
      problem,
      bootMs,
      timeline,
      totalMs: performance.now() - t0,
      reportDir: keepReports(dir),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
