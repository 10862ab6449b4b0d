// `pnpm bench netpol-cluster`: policy propagation at cluster size. Two lab nodes (each its own node namespace,
// private bpffs and the real agent with its eBPF datapath, in this process), one API stand-in, the real
// network-policy-controller as the built executable (dist/bin/network-policy-controller, leader election off).
// 500 pods in 10 namespaces, alternately on the two nodes, and 50 NetworkPolicies (5 per namespace: policy j of a
// namespace selects app=app-j, 5 pods spread over both nodes, and admits ingress on TCP 80 from pods labelled
// peer=p-j). Pods are cheap: the host veth the agent attaches to (its peer left in the node namespace), no pod
// namespace and no traffic. One change = a pod's `peer` label set to (or removed from) p-j, written to the
// stand-in at t0; measured: t0 → the policy's PolicyEndpoint rewritten in the stand-in (`label_to_pe_*`) and
// t0 → the last policy map write of that burst on every node (`label_to_maps_*`: the agent's writePolicy of the
// real datapath returned, i.e. the BPF map holds the new rules; both nodes must write). Controller CPU (utime +
// stime over the changes, and from start) and memory (/proc VmRSS, VmHWM) of its process. JSON is the last line.
// Args: --changes N (≥ 50, default 60), --batch-ms N (the controller's batch period; default: the controller's own
// default, not passed).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DATAPATH_AVAILABLE, openDatapath } from '@vpc-cni/network-policy-agent/agent-datapath';
import { afterWrites, NetpolLab, startSmall } from '@vpc-cni/e2e/netpol';
import { KubeApiSim } from '@vpc-cni/e2e/kube';
import { parseFlags } from '@vpc-cni/network-policy-controller/controller';

const NAMESPACES = 10;
const PODS_PER_NS = 50;
const POLICIES_PER_NS = 5;
const CONTROLLER = resolve(import.meta.dirname, '../../dist/bin/network-policy-controller');

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const round = (n: number) => Math.round(n * 10) / 10;
const progress = (what: string) => process.stderr.write(`netpol-cluster: ${what}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

function procStat(pid: number): { cpuMs: number; rssMib: number; hwmMib: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { cpuMs: (ticks * 1000) / 100, rssMib: kb('VmRSS') / 1024, hwmMib: kb('VmHWM') / 1024 };
}

/** `batchMs` undefined: the controller runs with its default window (the flag is not passed). */
export async function benchNetpolCluster(o: { changes: number; batchMs?: number }) {
  if (!DATAPATH_AVAILABLE) throw new Error('netpol-cluster needs a build that includes the eBPF datapath');
  const sim = await startSmall();
  const kube = await KubeApiSim.start();
  const writes: number[][] = [[], []]; // per node: when each policy map write returned
  const labs: NetpolLab[] = [];
  let controller: ReturnType<typeof spawn> | undefined;
  try {
    for (const n of [0, 1])
      labs.push(
        await NetpolLab.start({
          mode: 'standard',
          sim,
          kube,
          nodeName: `node-${n}`,
          podNet: 244 + n,
          openDatapath: (dpo) => afterWrites(openDatapath(dpo), () => writes[n]!.push(performance.now())),
        }),
      );
    // Cluster objects.
    for (let k = 0; k < NAMESPACES; k++) {
      const ns = `ns-${k}`;
      kube.put('namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
      });
      for (let j = 0; j < POLICIES_PER_NS; j++)
        kube.put(
          'networking.k8s.io/networkpolicies',
          {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            metadata: { name: `p-${j}`, namespace: ns },
            spec: {
              podSelector: { matchLabels: { app: `app-${j}` } },
              ingress: [
                {
                  from: [{ podSelector: { matchLabels: { peer: `p-${j}` } } }],
                  ports: [{ protocol: 'TCP', port: 80 }],
                },
              ],
            },
          },
          ns,
        );
      const made = [0, 1].map((n) =>
        labs[n]!.addHostVeths(
          Array.from({ length: PODS_PER_NS / 2 }, (_, h) => ({ name: `pod-${2 * h + n}`, namespace: ns })),
        ),
      );
      for (let i = 0; i < PODS_PER_NS; i++) {
        const node = i % 2;
        const name = `pod-${i}`;
        const p = made[node]![Math.floor(i / 2)]!;
        kube.put(
          'pods',
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name, namespace: ns, labels: { app: `app-${Math.floor(i / 2) % 10}` } },
            spec: { nodeName: `node-${node}`, containers: [{ name: 'c', image: 'x' }] },
            status: { phase: 'Running', podIP: p.ip, hostIP: labs[node]!.nodeIp },
          },
          ns,
        );
      }
    }
    progress('pods and policies written');
    const t0 = performance.now();
    const kubeconfig = kube.writeKubeconfig(join(labs[0]!.dir, 'controller-kubeconfig'));
    const c = spawn(
      CONTROLLER,
      [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        ...(o.batchMs === undefined ? [] : [`--pod-update-batch-period-duration=${o.batchMs}ms`]),
        '--health-probe-bind-addr=0',
        '--metrics-bind-addr=0',
        '--log-level=info',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    controller = c;
    const pes = () => kube.api.store.list('networking.k8s.aws/policyendpoints', undefined).length;
    while (pes() < NAMESPACES * POLICIES_PER_NS) {
      if (c.exitCode !== null) throw new Error(`network-policy-controller exited ${c.exitCode}`);
      if (performance.now() - t0 > 600_000)
        throw new Error(`the controller wrote PEs for ${pes()} of the policies in 600 s`);
      await sleep(200);
    }
    progress(`controller wrote the first PEs`);
    const initialPesMs = performance.now() - t0;
    // Every pod's EnforceNpToPod (as aws-cni would on ADD), then let everything settle.
    const t1 = performance.now();
    for (const lab of labs)
      for (const p of lab.pods.values()) await lab.enforce(p.name, 'standard', p.namespace);
    const enforceAllMs = performance.now() - t1;
    progress('every pod enforced; changes start');
    await sleep(2_000);
    const before = procStat(c.pid!);

    // PE write times, from the stand-in's own events.
    const peTimes: { t: number; ns: string; name: string }[] = [];
    const off = kube.api.store.onEvent((e) => {
      const m = e.object.metadata;
      if (e.resource === 'networking.k8s.aws/policyendpoints')
        peTimes.push({ t: performance.now(), ns: String(m.namespace), name: String(m.name) });
    });
    const toPe: number[] = [];
    const toMaps: number[] = [];
    for (let i = 0; i < o.changes; i++) {
      const k = i % NAMESPACES;
      const j = Math.floor(i / NAMESPACES) % POLICIES_PER_NS;
      const name = `pod-${(i * 7) % PODS_PER_NS}`;
      const ns = `ns-${k}`;
      const cur = kube.api.store.get('/pods', ns, name);
      const labels = { ...(cur.metadata['labels'] as Record<string, string>) };
      if (labels['peer'] === `p-${j}`) delete labels['peer'];
      else labels['peer'] = `p-${j}`;
      const w0 = [writes[0]!.length, writes[1]!.length];
      const pe0 = peTimes.length;
      const start = performance.now();
      kube.api.store.update('/pods', ns, name, { ...cur, metadata: { ...cur.metadata, labels } }, false);
      // Wait until both nodes wrote and nothing more was written for 300 ms.
      for (;;) {
        await sleep(20);
        const now = performance.now();
        if (now - start > 30_000) throw new Error(`change ${i}: not enforced on both nodes within 30 s`);
        const done = [0, 1].every((n) => writes[n]!.length > w0[n]!);
        const last = Math.max(...[0, 1].map((n) => writes[n]!.at(-1) ?? 0));
        if (done && now - last > 300) break;
      }
      const pe = peTimes.slice(pe0).find((e) => e.ns === ns && e.name.startsWith(`p-${j}-`));
      if (!pe) throw new Error(`change ${i}: the PolicyEndpoint of ${ns}/p-${j} was not rewritten`);
      toPe.push(pe.t - start);
      toMaps.push(Math.max(...[0, 1].map((n) => writes[n]!.at(-1)!)) - start);
    }
    off();
    const after = procStat(c.pid!);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    return {
      pods: NAMESPACES * PODS_PER_NS,
      nodes: 2,
      policies: NAMESPACES * POLICIES_PER_NS,
      changes: toMaps.length,
      batch_ms: o.batchMs ?? parseFlags([]).batchMs,
      label_to_pe_p50_ms: round(pct(toPe, 50)),
      label_to_pe_p99_ms: round(pct(toPe, 99)),
      label_to_maps_p50_ms: round(pct(toMaps, 50)),
      label_to_maps_p99_ms: round(pct(toMaps, 99)),
      controller_initial_pes_ms: round(initialPesMs),
      enforce_all_pods_ms: round(enforceAllMs),
      controller_cpu_ms_per_change: round((after.cpuMs - before.cpuMs) / toMaps.length),
      controller_cpu_ms_total: round(after.cpuMs),
      controller_rss_mib: round(after.rssMib),
      controller_peak_rss_mib: round(after.hwmMib),
      loadavg: load,
    };
  } finally {
    controller?.kill('SIGKILL');
    for (const l of labs) await l.stop();
    await kube.stop();
    await sim.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchNetpolCluster({
    changes: Math.max(50, arg('changes', 60)),
    batchMs: process.argv.includes('--batch-ms') ? arg('batch-ms', NaN) : undefined,
  }).then(
    (r) => console.log(JSON.stringify(r)),
    (err: unknown) => {
      console.error(`netpol-cluster: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
