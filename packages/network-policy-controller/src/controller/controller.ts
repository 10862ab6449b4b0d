// The controller loop (README: "Controller"): list+watch NetworkPolicies, Pods, Namespaces, Services and
// PolicyEndpoints; map each change to the policies it can affect; recompute those (policy changes at once,
// cluster changes batched over `batchMs`); write only the PEs whose content changed. Before the first write
// every cache has listed, so a restart compares against what is stored and writes nothing if it already agrees.
import {
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  NetworkingV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Namespace,
  type V1NetworkPolicy,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { PE_GROUP, PE_PLURAL, PE_VERSION, WatchCache } from '@vpc-cni/shared/k8s';
import type { Logger } from '@vpc-cni/shared/logging';
import {
  clusterView,
  type ClusterView,
  type ExistingEndpoint,
  newPolicyEndpoint,
  planEndpoints,
  resolvePolicy,
  updatePatch,
} from '../resolve/index.js';
import { affectedPolicies, type Change, type PolicyKey, policyKey } from './affected.js';
import { belongsTo, isDeleting, storedEndpoint } from './stored.js';
import { ControllerMetrics } from './metrics.js';

export interface ControllerOptions {
  kc: KubeConfig;
  logger: Logger;
  chunkSize: number;
  batchMs: number;
  now?: () => number;
  metrics?: ControllerMetrics;
}

export interface WriteCounts {
  create: number;
  update: number;
  delete: number;
  reconciles: number;
  errors: number;
}

type ListFn<T> = () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;

export class PolicyController {
  private readonly policies: WatchCache<V1NetworkPolicy>;
  private readonly pods: WatchCache<V1Pod>;
  private readonly namespaces: WatchCache<V1Namespace>;
  private readonly services: WatchCache<V1Service>;
  private readonly pes: WatchCache<KubernetesObject>;
  private readonly custom: CustomObjectsApi;
  /** PEs per policy as this process last wrote them (authoritative: only the controller writes PEs). */
  private readonly known = new Map<PolicyKey, ExistingEndpoint[]>();
  private readonly pending = new Set<PolicyKey>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private ready = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  readonly writes: WriteCounts = { create: 0, update: 0, delete: 0, reconciles: 0, errors: 0 };
  readonly metrics: ControllerMetrics;

  constructor(private readonly o: ControllerOptions) {
    this.metrics = o.metrics ?? new ControllerMetrics();
    const core = o.kc.makeApiClient(CoreV1Api);
    const net = o.kc.makeApiClient(NetworkingV1Api);
    this.custom = o.kc.makeApiClient(CustomObjectsApi);
    const cache = <T extends KubernetesObject>(path: string, what: string, list: ListFn<T>) =>
      new WatchCache<T>({ kc: o.kc, path, what, list, logger: o.logger });
    this.policies = cache('/apis/networking.k8s.io/v1/networkpolicies', 'networkpolicies', () =>
      net.listNetworkPolicyForAllNamespaces(),
    );
    this.pods = cache('/api/v1/pods', 'pods', () => core.listPodForAllNamespaces());
    this.namespaces = cache('/api/v1/namespaces', 'namespaces', () => core.listNamespace());
    this.services = cache('/api/v1/services', 'services', () => core.listServiceForAllNamespaces());
    this.pes = cache(
      `/apis/${PE_GROUP}/${PE_VERSION}/${PE_PLURAL}`,
      'policyendpoints',
      async () =>
        (await this.custom.listClusterCustomObject({
          group: PE_GROUP,
          version: PE_VERSION,
          plural: PE_PLURAL,
        })) as {
          items: KubernetesObject[];
        },
    );
    const onPolicy = (np: V1NetworkPolicy) => this.enqueue([policyKey(np)], 0);
    for (const ev of ['add', 'update', 'delete'] as const) {
      this.policies.on(ev, onPolicy);
      this.pods.on(ev, (p) => this.changed({ kind: 'pod', namespace: p.metadata?.namespace ?? '' }));
      this.namespaces.on(ev, () => this.changed({ kind: 'namespace' }));
      this.services.on(ev, (s) => this.changed({ kind: 'service', namespace: s.metadata?.namespace ?? '' }));
    }
  }

  /** Lists everything, then reconciles every policy once and follows changes. */
  async start(): Promise<void> {
    await Promise.all([
      this.policies.start(),
      this.pods.start(),
      this.namespaces.start(),
      this.services.start(),
      this.pes.start(),
    ]);
    if (!this.allHealthy())
      throw new Error('could not list the resources the controller watches (see the log)');
    this.ready = true;
    // Policies whose PEs remain but which are gone (deleted while the controller was down, no garbage collector).
    const orphans = this.pes
      .list()
      .map(
        (pe) =>
          `${pe.metadata?.namespace ?? ''}/${(pe as { spec?: { policyRef?: { name?: string } } }).spec?.policyRef?.name ?? ''}`,
      );
    this.enqueue([...this.policies.list().map(policyKey), ...orphans], 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await Promise.all(
      [this.policies, this.pods, this.namespaces, this.services, this.pes].map((c) => c.stop()),
    );
  }

  get healthy(): boolean {
    return this.ready && this.allHealthy();
  }

  /** Resolves when nothing is queued or being reconciled (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.pending.size > 0) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 20));
    }
  }

  private allHealthy(): boolean {
    return [this.policies, this.pods, this.namespaces, this.services, this.pes].every((c) => c.healthy);
  }

  private changed(change: Change): void {
    this.enqueue(affectedPolicies(change, this.policies.list()), this.o.batchMs);
  }

  private enqueue(keys: readonly PolicyKey[], delayMs: number): void {
    if (keys.length === 0 || this.stopped) return;
    for (const k of keys) this.pending.add(k);
    if (!this.ready) return;
    const at = Date.now() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.kick();
    }, delayMs);
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      // Changes that arrived while running: their timer may have fired (and been ignored) meanwhile.
      if (this.pending.size > 0 && !this.stopped && !this.timer) setImmediate(() => this.kick());
    });
  }

  private async drain(): Promise<void> {
    const keys = [...this.pending].sort();
    this.pending.clear();
    const view = clusterView({
      pods: this.pods.list(),
      namespaces: this.namespaces.list(),
      services: this.services.list(),
    });
    const failed: PolicyKey[] = [];
    for (const k of keys) {
      if (this.stopped) return;
      const end = this.metrics.duration.startTimer({ policy_type: 'NetworkPolicy' });
      try {
        await this.reconcile(k, view);
        this.metrics.reconciliations.inc({ policy_type: 'NetworkPolicy', result: 'success' });
      } catch (err) {
        this.metrics.reconciliations.inc({ policy_type: 'NetworkPolicy', result: 'error' });
        this.writes.errors++;
        this.known.delete(k);
        this.o.logger.error({ err, policy: k }, 'reconcile failed; retrying');
        failed.push(k);
      } finally {
        end();
      }
    }
    this.metrics.objects.set({ policy_type: 'NetworkPolicy' }, this.policies.list().length);
    this.enqueue(failed, this.o.batchMs);
  }

  private existing(ns: string, name: string, uid: string | undefined): ExistingEndpoint[] {
    return this.pes
      .list(ns)
      .filter((pe) => belongsTo(pe, ns, name, uid))
      .flatMap((pe) => storedEndpoint(pe) ?? []);
  }

  private async reconcile(key: PolicyKey, view: ClusterView): Promise<void> {
    this.writes.reconciles++;
    const [ns = '', name = ''] = key.split('/');
    const np = this.policies.get(name, ns);
    const existing = this.known.get(key) ?? this.existing(ns, name, np?.metadata?.uid);
    if (!np || isDeleting(np)) {
      for (const pe of existing) await this.delete(ns, pe.name);
      this.known.delete(key);
      return;
    }
    const plan = planEndpoints(resolvePolicy(np, view), existing, this.o.chunkSize);
    const now = (this.o.now ?? Date.now)();
    const after = new Map(existing.map((e) => [e.name, e] as const));
    for (const name of plan.delete) {
      await this.delete(ns, name);
      after.delete(name);
    }
    for (const u of plan.update) {
      await this.custom.patchNamespacedCustomObject(
        {
          group: PE_GROUP,
          version: PE_VERSION,
          plural: PE_PLURAL,
          namespace: ns,
          name: u.name,
          body: updatePatch(u.spec, now),
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      this.writes.update++;
      this.metrics.writes.inc({ operation: 'patch' });
      after.set(u.name, u);
    }
    for (const spec of plan.create) {
      const created = (await this.custom.createNamespacedCustomObject({
        group: PE_GROUP,
        version: PE_VERSION,
        plural: PE_PLURAL,
        namespace: ns,
        body: newPolicyEndpoint(np, spec, now),
      })) as KubernetesObject;
      this.writes.create++;
      this.metrics.writes.inc({ operation: 'create' });
      const createdName = created.metadata?.name ?? '';
      after.set(createdName, { name: createdName, spec });
    }
    if (plan.create.length + plan.update.length + plan.delete.length > 0)
      this.o.logger.info(
        {
          policy: key,
          created: plan.create.length,
          updated: plan.update.length,
          deleted: plan.delete.length,
        },
        'policy endpoints written',
      );
    this.known.set(key, [...after.values()]);
  }

  private async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({
        group: PE_GROUP,
        version: PE_VERSION,
        plural: PE_PLURAL,
        namespace,
        name,
      });
      this.writes.delete++;
      this.metrics.writes.inc({ operation: 'delete' });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }
}
