// `pnpm bench footprint`: memory a node pays for the DaemonSet's two daemons, both started from the built
// multi-call executable as the DaemonSet starts them (docs/build.md "Memory").
// - ipamd (aws-k8s-agent): 250 static addresses (no EC2, no host networking), all 250 assigned to pods over gRPC,
//   then left to settle; RSS and anonymous memory from /proc.
// - the network policy agent (aws-network-policy-agent), with enforcement on (--enable-network-policy=true, the
//   heavier case: eBPF objects loaded, PolicyEndpoints watched) in a throwaway network namespace with a private
//   bpffs, the IMDS simulator, the Kubernetes stand-in, and the ipamd above as its ipamd; and with the
//   manifest's default flags (--enable-network-policy=false).
// Measured twice, each round with fresh daemons (this file again, `--once cold|warm`): with the executable evicted
// from the page cache first (posix_fadvise DONTNEED, `dd iflag=nocache`), and from a freshly written copy of it,
// as on a node that has just unpacked the image (the kernel maps cached file pages around each fault, so how the
// file came to be cached changes the file pages a process maps by up to ~15 MiB).
// Each process's memory is also broken down by mapping (stderr): V8 and other anonymous memory, the malloc heap,
// pages of the executable itself (shared by the two daemons, which are one file), other files.
// FOOTPRINT_EXE=<path> measures another build of the daemon executable (e.g. a copy kept from before a change);
// FOOTPRINT_NODE_OPTIONS=<flags> and FOOTPRINT_DAEMON_ENV=<JSON object> start the daemons with extra V8 flags or
// environment (e.g. '{"MALLOC_ARENA_MAX":"2"}'), to measure a lever before building it in.
// image_mib: the OCI archive of `pnpm image` when present (null otherwise).
// Last line: {"ipamd_rss_mib","ipamd_anon_mib","ipamd_idle_rss_mib","agent_rss_mib","agent_anon_mib",
//             "agent_disabled_rss_mib"} evicted first, the same six with `_warm` before `_mib` cached first,
//             and "image_mib".
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SG_1, SUBNET_A, startSmall } from '../../e2e/src/sim/testkit.js';
import { req } from './rpc/calls.js';
import { KubeApiSim } from '@vpc-cni/e2e/kube';
import { NPA_HEALTH_SERVICE } from '@vpc-cni/network-policy-agent/rpc';
import { CNIBackend, Health, RpcClient, ServingStatus } from '@vpc-cni/shared/rpc';

const ROOT = resolve(import.meta.dirname, '../..');
const EXE = resolve(process.env['FOOTPRINT_EXE'] || join(ROOT, 'dist/bin/aws-k8s-agent'));
const PODS = 250;
const POOL = Array.from({ length: PODS }, (_, i) => `10.0.${1 + (i >> 8)}.${i & 255}`);
const mode = process.argv[2];
const dir = mode === '--once' ? mkdtempSync(join(tmpdir(), 'vct-bench-footprint-')) : '';
const tag = randomBytes(3).toString('hex');
const socket = join(dir, 'ipamd.sock');
const mib = (kb: number): number => Math.round((kb / 1024) * 10) / 10;
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => unknown)[] = [];

/** VmRSS and RssAnon of a process, in KiB. */
function memory(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), anon: field('RssAnon') };
}

/** Resident KiB by kind of mapping, from /proc/<pid>/smaps. */
function breakdown(pid: number, exe: string): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const [, perms, name] = m as unknown as [string, string, string];
      if (name === '[heap]') kind = 'malloc_heap';
      else if (name === '') kind = 'anon_v8_and_other';
      else if (name.startsWith('[')) kind = 'other';
      else if (resolve(name.replace(/ \(deleted\)$/, '')) === exe)
        kind = perms.includes('x') ? 'exe_text' : 'exe_data_and_sea_blob';
      else kind = 'other_files';
    } else if (line.startsWith('Rss:')) {
      out[kind] = (out[kind] ?? 0) + Number(line.split(/\s+/)[1]);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, mib(v)]));
}

async function waitServing(
  sock: string,
  service: string,
  what: string,
  child: ChildProcess,
  log: string,
): Promise<void> {
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} (its log: ${log})`);
    const c = new RpcClient({ endpoint: `unix://${sock}`, deadlineMs: 500 });
    try {
      if ((await c.call(Health.Check, { service })).status === ServingStatus.SERVING) return;
    } catch {
      if (i > 800) throw new Error(`${what} did not start (its log: ${log})`);
    } finally {
      c.close();
    }
    await settle(25);
  }
}

function start(cmd: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env['PATH'] ?? '',
      ...(process.env['FOOTPRINT_NODE_OPTIONS']
        ? { NODE_OPTIONS: process.env['FOOTPRINT_NODE_OPTIONS'] }
        : {}),
      ...(JSON.parse(process.env['FOOTPRINT_DAEMON_ENV'] || '{}') as Record<string, string>),
      ...env,
    },
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });
  return child;
}

/** The agent's flags as in deploy/aws-k8s-cni.yaml, with this run's sockets, ports and bpffs. */
const agentArgs = (name: string, enforce: boolean, bpffs: string): string[] => [
  '--enable-ipv6=false',
  `--enable-network-policy=${enforce}`,
  '--enable-cloudwatch-logs=false',
  '--enable-policy-event-logs=false',
  `--log-file=${join(dir, `${name}.log`)}`,
  '--metrics-bind-addr=127.0.0.1:0',
  '--health-probe-bind-addr=127.0.0.1:0',
  '--conntrack-cache-cleanup-period=300',
  `--npa-socket=${join(dir, `${name}.sock`)}`,
  '--npa-tcp-address=',
  `--ipamd-socket=${socket}`,
  `--bpffs-root=${bpffs}`,
];

/** World mode (`--world <dir>`, inside the node namespace): IMDS and the Kubernetes stand-in until SIGTERM. */
async function runWorld(at: string): Promise<void> {
  const sim = await startSmall();
  const node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
  const kube = await KubeApiSim.start();
  kube.writeKubeconfig(join(at, 'kubeconfig'));
  writeFileSync(join(at, 'imds-url'), node.imdsUrl);
  writeFileSync(join(at, 'world-ready'), '');
  await new Promise((r) => process.once('SIGTERM', r));
  await kube.stop();
  await sim.stop();
}

if (mode === '--world') {
  await runWorld(process.argv[3] as string);
  process.exit(0);
}

if (mode !== '--once') {
  // One round evicted, one cached, each in its own process (own daemons, own namespace and simulators).
  const round = (cache: string): Record<string, number | null> => {
    const out = execFileSync(process.execPath, [...process.execArgv, import.meta.filename, '--once', cache], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    return JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, number | null>;
  };
  const cold = round('cold');
  const warm = round('warm');
  const archive = join(ROOT, 'dist/image/vpc-cni-ts.oci.tar');
  console.log(
    JSON.stringify({
      ...cold,
      ...Object.fromEntries(Object.entries(warm).map(([k, v]) => [k.replace(/_mib$/, '_warm_mib'), v])),
      image_mib: existsSync(archive) ? Math.round(statSync(archive).size / 1048576) : null,
    }),
  );
  process.exit(0);
}

const cache = process.argv[3];
let exeRun = EXE;
if (cache === 'cold') execFileSync('dd', [`if=${EXE}`, 'iflag=nocache', 'count=0', 'status=none']);
else if (cache === 'warm') {
  // A fresh copy, written as a node writes the image's files when it unpacks them, with `../bpf` beside it as the
  // daemons expect. Reading the file into the page cache (cat) is not the same: the pages that writing leaves
  // cached map ~15 MiB more of the file into each daemon (fault-around), so the copy is the realistic case.
  exeRun = join(dir, 'fresh/bin/aws-k8s-agent');
  mkdirSync(dirname(exeRun), { recursive: true });
  symlinkSync(join(dirname(dirname(EXE)), 'bpf'), join(dir, 'fresh/bpf'));
  writeFileSync(exeRun, readFileSync(EXE), { mode: 0o755, flush: true });
} else throw new Error(`footprint --once: "${cache}" is not cold or warm`);
process.stderr.write(`footprint (${cache}): ${exeRun}\n`);

try {
  const ipamd = start(exeRun, [], {
    VPC_CNI_STATIC_ENIS: JSON.stringify([{ id: 'eni-0aa', deviceNumber: 0, ips: POOL }]),
    VPC_CNI_IPAMD_SOCKET: socket,
    AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
    AWS_VPC_K8S_CNI_LOG_FILE: join(dir, 'ipamd.log'),
    AWS_VPC_K8S_CNI_LOGLEVEL: 'info',
    VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
    NETWORK_POLICY_ENFORCING_MODE: 'standard',
  });
  await waitServing(socket, '', 'aws-k8s-agent', ipamd, join(dir, 'ipamd.log'));

  // The agent's world: a node namespace, a private bpffs, IMDS and the Kubernetes stand-in.
  const bpffs = join(dir, 'bpffs');
  mkdirSync(bpffs);
  execFileSync('mount', ['-t', 'bpf', 'bpf', bpffs]);
  cleanups.push(() => execFileSync('umount', ['-l', bpffs]));
  const ns = `vct-fp-${tag}`;
  execFileSync('ip', ['netns', 'add', ns]);
  cleanups.push(() => execFileSync('ip', ['netns', 'del', ns]));
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // The simulators run in the node namespace too (this file again, in world mode), so the agent reaches them on
  // its loopback as it reaches IMDS on a node; the ipamd socket is a file, reachable from any namespace.
  const world = spawn(
    'ip',
    ['netns', 'exec', ns, process.execPath, ...process.execArgv, import.meta.filename, '--world', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  cleanups.push(async () => {
    if (world.exitCode !== null) return;
    world.kill('SIGTERM');
    await new Promise((r) => world.once('exit', r));
  });
  for (let i = 0; !existsSync(join(dir, 'world-ready')); i++) {
    if (world.exitCode !== null || i > 2000) throw new Error('the simulators did not start');
    await settle(25);
  }
  // `ip netns exec` execs the executable under its own name, so the child's pid is the agent's.
  const agentExe = join(dir, 'aws-network-policy-agent');
  execFileSync('ln', ['-s', exeRun, agentExe]);
  const agent = start('ip', ['netns', 'exec', ns, agentExe, ...agentArgs('npa', true, bpffs)], {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: readFileSync(join(dir, 'imds-url'), 'utf8'),
    KUBECONFIG: join(dir, 'kubeconfig'),
    MY_NODE_NAME: 'bench-node',
  });
  const disabledBpffs = join(dir, 'bpffs-unused');
  mkdirSync(disabledBpffs);
  const agentOff = start(agentExe, agentArgs('npa-off', false, disabledBpffs), {
    MY_NODE_NAME: 'bench-node',
  });
  await waitServing(
    join(dir, 'npa.sock'),
    NPA_HEALTH_SERVICE,
    'aws-network-policy-agent',
    agent,
    join(dir, 'npa.log'),
  );
  await waitServing(
    join(dir, 'npa-off.sock'),
    NPA_HEALTH_SERVICE,
    'aws-network-policy-agent (disabled)',
    agentOff,
    join(dir, 'npa-off.log'),
  );

  await settle(3_000);
  const idle = memory(ipamd.pid as number);
  const c = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 10_000 });
  for (let n = 0; n < PODS; n++) {
    const r = await c.call(CNIBackend.AddNetwork, req(`pod-${n}`));
    if (!r.Success) throw new Error(`AddNetwork pod-${n} failed`);
  }
  c.close();
  // Long enough for the daemons' first periodic work and their post-start malloc trims (malloc-trim.ts).
  await settle(20_000);
  const busy = memory(ipamd.pid as number);
  const npa = memory(agent.pid as number);
  const npaOff = memory(agentOff.pid as number);
  process.stderr.write(
    `footprint, ${cache} (MiB by mapping):\n` +
      `  ipamd:           ${JSON.stringify(breakdown(ipamd.pid as number, exeRun))}\n` +
      `  agent:           ${JSON.stringify(breakdown(agent.pid as number, exeRun))}\n` +
      `  agent, disabled: ${JSON.stringify(breakdown(agentOff.pid as number, exeRun))}\n`,
  );
  if (process.env['FOOTPRINT_KEEP'])
    for (const [n, p] of [
      ['ipamd', ipamd],
      ['agent', agent],
      ['agent-off', agentOff],
    ] as const)
      writeFileSync(join(dir, `${n}.smaps`), readFileSync(`/proc/${p.pid}/smaps`));
  console.log(
    JSON.stringify({
      ipamd_rss_mib: mib(busy.rss),
      ipamd_anon_mib: mib(busy.anon),
      ipamd_idle_rss_mib: mib(idle.rss),
      agent_rss_mib: mib(npa.rss),
      agent_anon_mib: mib(npa.anon),
      agent_disabled_rss_mib: mib(npaOff.rss),
    }),
  );
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch (err) {
      process.stderr.write(`footprint cleanup: ${(err as Error).message}\n`);
    }
  }
  if (process.env['FOOTPRINT_KEEP']) process.stderr.write(`footprint: kept ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
