// The policy lab as a small cluster: the NetpolLab's node, pods and agent, plus Namespace and Pod objects in the
// API stand-in and the real network-policy-controller turning NetworkPolicies into PolicyEndpoints for the agent.
// The controller runs in this process or as the built executable (dist/bin/network-policy-controller), which a
// test can SIGKILL and start again. Matrices are measured with real probes from every pod's namespace at once.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { PolicyController } from '@vpc-cni/network-policy-controller/controller';
import { silentLogger } from '@vpc-cni/shared/logging';
import {
  EXTRA_NAMESPACES,
  EXTRA_POD_SERVE,
  EXTRAS,
  type ExtraRef,
  extraPod,
  type Fixture,
  OUTSIDE_SERVE,
  POD_CIDR,
} from './case-kit.js';
import { NetpolLab, type LabOptions } from './lab.js';
import { DNS_SERVER } from './lab-dns.js';
import { addClusterIp, addNodeEndpoint, addOutside } from './lab-edges.js';
import {
  cell,
  type CellEndpoint,
  cellsOf,
  type NetworkPolicy,
  type ProbeName,
  ref,
  type WorldPod,
} from './np-reference.js';

const NPS = 'networking.k8s.io/networkpolicies';
const CONTROLLER_BIN = resolve(import.meta.dirname, '../../../dist/bin/network-policy-controller');

export interface ClusterOptions extends LabOptions {
  /** `in-process` (default) or `process` (the executable, killable). */
  controller?: 'in-process' | 'process';
  /** The controller's --pod-update-batch-period-duration in ms (default 200). */
  batchMs?: number;
}

type Controller =
  | { kind: 'in-process'; c: PolicyController }
  | { kind: 'process'; child: ChildProcess; exited: Promise<void> };

export class NetpolCluster {
  private controller: Controller | undefined;
  private constructor(
    readonly lab: NetpolLab,
    private readonly o: ClusterOptions,
  ) {}

  static async start(o: ClusterOptions): Promise<NetpolCluster> {
    const lab = await NetpolLab.start(o);
    const c = new NetpolCluster(lab, o);
    try {
      await c.startController();
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  get kube() {
    return this.lab.kube;
  }

  async startController(): Promise<void> {
    if (this.controller) throw new Error('the controller is already running');
    const batchMs = this.o.batchMs ?? 200;
    if ((this.o.controller ?? 'in-process') === 'in-process') {
      const c = new PolicyController({
        kc: this.kube.kubeconfig(),
        logger: silentLogger,
        chunkSize: 200,
        batchMs,
      });
      await c.start();
      this.controller = { kind: 'in-process', c };
      return;
    }
    const kubeconfig = this.kube.writeKubeconfig(join(this.lab.dir, 'controller-kubeconfig'));
    const child = spawn(
      CONTROLLER_BIN,
      [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        `--pod-update-batch-period-duration=${batchMs}ms`,
        '--health-probe-bind-addr=0',
        '--metrics-bind-addr=0',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.controller = { kind: 'process', child, exited };
    // Started once it has listed: its first reconcile writes (or confirms) PEs; wait for the process to be up.
    await new Promise((r) => setTimeout(r, 300));
    if (child.exitCode !== null)
      throw new Error(`network-policy-controller exited ${child.exitCode}: ${stderr.trim()}`);
  }

  /** Stops the controller: `kill` = SIGKILL for the executable (in-process: an orderly stop). */
  async stopController(how: 'kill' | 'stop' = 'stop'): Promise<void> {
    const c = this.controller;
    this.controller = undefined;
    if (!c) return;
    if (c.kind === 'in-process') return c.c.stop();
    c.child.kill(how === 'kill' ? 'SIGKILL' : 'SIGTERM');
    await c.exited;
  }

  /** Waits until the in-process controller has nothing queued (no-op for the executable). */
  async controllerIdle(): Promise<void> {
    if (this.controller?.kind === 'in-process') await this.controller.c.idle();
  }

  /** Namespaces, Pod objects (status: podIP, hostIP = the lab node, Running) and wired pods with servers. */
  async addFixture(f: Fixture): Promise<void> {
    for (const [name, labels] of Object.entries(f.namespaces))
      this.kube.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    for (const p of f.pods) {
      const pod = this.lab.addPod(p.name, p.namespace, f.serve.tcp, {
        key: ref(p),
        udp: f.serve.udp,
        sctp: f.serve.sctp,
      });
      this.putPod(p, { nodeName: 'lab-node', ip: pod.ip, hostIP: this.lab.nodeIp });
      await this.lab.enforce(p.name, this.o.mode, p.namespace);
    }
    // Start every pod's prober now: a cold start under load would turn the first verdicts into time-outs.
    await Promise.all(f.pods.map((p) => this.lab.probeMany(ref(p), [])));
  }

  /**
   * The endpoints of EXTRAS (after the fixture holding their backends): their namespaces that no fixture has, the
   * pods (wired and enforced like the fixture's; the DNS one also runs the responder, answering the names of the
   * Services given), the outside namespace with its addresses and the remote host-network pod, the node's own
   * address as the local host-network pod, the Services with their DNAT; Pod objects (hostNetwork for the host
   * ones) and Service objects in the stand-in.
   */
  async addExtras(refs: ExtraRef[]): Promise<void> {
    const all = refs.map((r) => ({ r, p: extraPod(r) }));
    for (const ns of new Set(all.map(({ p }) => p.namespace)))
      if (EXTRA_NAMESPACES[ns])
        this.kube.put('namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns, labels: EXTRA_NAMESPACES[ns] },
        });
    const zone = all
      .filter(({ p }) => p.kind === 'service')
      .map(({ p }) => `${p.name}.${p.namespace}=${p.ip!}`)
      .join(',');
    for (const { r, p } of all.filter(({ p }) => p.kind === 'pod')) {
      const pod = this.lab.addPod(p.name, p.namespace, EXTRA_POD_SERVE.tcp, {
        key: r,
        udp: EXTRA_POD_SERVE.udp,
      });
      if (p.dns) this.lab.spawnIn(pod.ns, process.execPath, '-e', DNS_SERVER, zone);
      this.putPod(p, { nodeName: 'lab-node', ip: pod.ip, hostIP: this.lab.nodeIp });
      await this.lab.enforce(p.name, this.o.mode, p.namespace);
    }
    const dns = all.find(({ p }) => p.kind === 'service' && p.dns);
    if (dns) this.lab.useDns(dns.r);
    const outside = all.filter(({ p }) => p.kind === 'outside' || (p.kind === 'host' && !p.localNode));
    if (outside.length > 0)
      addOutside(
        this.lab,
        outside.map(({ r, p }) => ({ key: r, ip: p.ip! })),
        OUTSIDE_SERVE,
        POD_CIDR,
      );
    for (const { r, p } of all) {
      if (p.kind === 'host') {
        if (p.localNode) addNodeEndpoint(this.lab, r, OUTSIDE_SERVE);
        const ip = this.ip(r);
        this.putPod(p, { nodeName: p.localNode ? 'lab-node' : 'node-b', ip, hostIP: ip, hostNetwork: true });
      } else if (p.kind === 'service') {
        const svc = p.service!;
        addClusterIp(this.lab, r, p.ip!, svc.ports, this.ip(svc.backend));
        this.kube.put(
          'services',
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: p.name, namespace: p.namespace },
            spec: {
              type: 'ClusterIP',
              clusterIP: p.ip,
              clusterIPs: [p.ip],
              selector: svc.selector,
              ports: svc.ports,
            },
          },
          p.namespace,
        );
      }
    }
    await Promise.all(all.filter(({ p }) => p.kind !== 'service').map(({ r }) => this.lab.probeMany(r, [])));
  }

  /** A Running Pod object in the stand-in: address `ip` on node `nodeName` (whose address is `hostIP`). */
  private putPod(
    p: Pick<WorldPod, 'name' | 'namespace' | 'labels' | 'ports'>,
    at: { nodeName: string; ip: string; hostIP: string; hostNetwork?: boolean },
  ): void {
    this.kube.put(
      'pods',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
        spec: {
          nodeName: at.nodeName,
          ...(at.hostNetwork ? { hostNetwork: true } : {}),
          containers: [{ name: 'c', image: 'x', ports: p.ports }],
        },
        status: { phase: 'Running', podIP: at.ip, podIPs: [{ ip: at.ip }], hostIP: at.hostIP },
      },
      p.namespace,
    );
  }

  /** Host-network pods (by `namespace/name`) that some PolicyEndpoint lists as a selected pod: must be none. */
  hostPodsInPolicyEndpoints(): string[] {
    const hosts = new Set((Object.keys(EXTRAS) as ExtraRef[]).filter((r) => extraPod(r).kind === 'host'));
    return this.kube.api.store
      .list('networking.k8s.aws/policyendpoints', undefined)
      .flatMap(
        (pe) =>
          (pe['spec'] as { podSelectorEndpoints?: { name: string; namespace: string }[] })
            .podSelectorEndpoints ?? [],
      )
      .map(ref)
      .filter((r) => hosts.has(r as ExtraRef));
  }

  ip(podRef: string): string {
    const p = this.lab.pods.get(podRef);
    if (!p) throw new Error(`no lab pod ${podRef}`);
    return p.ip;
  }

  setPodLabels(podRef: string, labels: Record<string, string>): void {
    const [ns, name] = podRef.split('/') as [string, string];
    const cur = this.kube.api.store.get('/pods', ns, name);
    if (JSON.stringify(cur.metadata['labels']) === JSON.stringify(labels)) return;
    this.kube.api.store.update('/pods', ns, name, { ...cur, metadata: { ...cur.metadata, labels } }, false);
  }

  setNamespaceLabels(ns: string, labels: Record<string, string>): void {
    const cur = this.kube.api.store.get('/namespaces', undefined, ns);
    if (JSON.stringify(cur.metadata['labels']) === JSON.stringify(labels)) return;
    this.kube.api.store.update(
      '/namespaces',
      undefined,
      ns,
      { ...cur, metadata: { ...cur.metadata, labels } },
      false,
    );
  }

  /** Creates, updates and deletes NetworkPolicies so that exactly `want` are in force. */
  applyPolicies(want: NetworkPolicy[]): void {
    const store = this.kube.api.store;
    const id = (p: { metadata: { namespace?: unknown; name?: unknown } }) =>
      `${String(p.metadata.namespace)}/${String(p.metadata.name)}`;
    const wanted = new Map(want.map((p) => [id(p), p]));
    for (const cur of store.list(NPS, undefined)) {
      const w = wanted.get(id(cur));
      if (!w) store.delete(NPS, String(cur.metadata.namespace), String(cur.metadata.name));
      else if (JSON.stringify(cur['spec']) !== JSON.stringify(w.spec))
        store.update(NPS, w.metadata.namespace, w.metadata.name, { ...cur, spec: w.spec }, false);
      wanted.delete(id(cur));
    }
    for (const p of wanted.values())
      store.create(NPS, p.metadata.namespace, p as unknown as Parameters<typeof store.create>[2]);
  }

  /**
   * The measured matrix: its cells (cellsOf: ordered pairs of distinct endpoints × probes); `parallel` sources probe at once (each
   * runs all its probes concurrently, from its long-lived prober). Denied = timed out after `timeoutMs`.
   * ICMP has no ports, so the datapath keeps one conntrack entry per pair of pods: after `a` pinged `b`, a ping
   * from `b` to `a` is a reply and passes. ICMP is therefore measured in two halves, pairs (i < j) then (i > j)
   * in `pods` order, each after flushing the datapath's conntrack, so no ping is judged as the reply of another.
   */
  async matrix(
    endpoints: CellEndpoint[],
    probes: ProbeName[],
    timeoutMs = 1_000,
    parallel = endpoints.length,
  ): Promise<Map<string, boolean>> {
    const m = new Map<string, boolean>();
    const pods = endpoints.map(ref);
    const run = async (pairs: (src: number, dst: number) => boolean, ps: ProbeName[]) => {
      const cells = cellsOf(endpoints, ps);
      const queue = pods.map((_, i) => i);
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
            const src = pods[s]!;
            const targets = cells
              .filter((c) => c.src === endpoints[s] && pairs(s, endpoints.indexOf(c.dst)))
              .map((c) => ({ to: ref(c.dst), probe: c.probe }));
            if (targets.length === 0) continue;
            const got = await this.lab.probeMany(src, targets, timeoutMs);
            targets.forEach((t, i) => m.set(cell(src, t.to, t.probe), got[i]!));
          }
        }),
      );
    };
    const ports = probes.filter((p) => p !== 'icmp');
    if (ports.length > 0) await run(() => true, ports);
    if (probes.includes('icmp')) {
      this.lab.flushConntrack();
      await run((s, d) => s < d, ['icmp']);
      this.lab.flushConntrack();
      await run((s, d) => s > d, ['icmp']);
    }
    return m;
  }

  async stop(): Promise<void> {
    try {
      await this.stopController('kill');
    } finally {
      await this.lab.stop();
    }
  }
}
