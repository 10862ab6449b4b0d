// The pool manager loop (docs/architecture.md#warm-pool): every 2.5 s grow when the pool is below the warm
// targets, give addresses back when above them (at most every 30 s), free one surplus ENI, and every 60 s
// after the last pool action reconcile with IMDS/EC2. Leaked-ENI sweeps run after a random 0–299 s and then
// hourly. Every mutation runs under the supply's mutex, so on-demand growth from AddNetwork never interleaves
// with them.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';
import type { AttachedEni } from '../imds/index.js';
import type { Datastore, Released } from '../store/index.js';
import {
  type PoolLimits,
  type WarmConfig,
  decreaseCount,
  deletableEni,
  isPoolTooHigh,
  isPoolTooLow,
  shouldRemoveExtraEnis,
} from '../warm/index.js';
import { CapacityError } from '../service/supply.js';
import { type CallObserver, errorCode } from './ec2-call.js';
import type { ManagedEniRules } from './managed.js';
import { type PoolObserver, quietObserver, tracked } from './observer.js';
import type { Ec2Supply } from './ec2-supply.js';
import { type FreeEniOptions, freeEni } from './free-eni.js';
import { type LeakSweepResult, sweepLeakedEnis } from './leaked.js';
import type { EniPlumbing } from './plumbing.js';
import { eniViews } from './pool-view.js';
import type { PoolState } from './pool-state.js';
import { type ReconcileResult, reconcilePool } from './reconcile.js';
import { type FreedCache, decreasePool } from './shrink.js';

export interface PoolManagerOptions {
  ec2: EC2Client;
  ds: Datastore;
  supply: Ec2Supply;
  /** The pool's lock and per-ENI facts (the same state the supply was given). */
  state: PoolState;
  warm: WarmConfig;
  limits: PoolLimits;
  maxPods: number;
  instanceId: string;
  vpcId: string;
  clusterName?: string | undefined;
  plumbing: EniPlumbing;
  readImds: () => Promise<AttachedEni[]>;
  /** ENIs never touched (no_manage, other network cards). */
  unmanaged?: Set<string>;
  provisioning?: boolean;
  leakedEniCleanup?: boolean;
  logger: Logger;
  onCall?: CallObserver;
  /** Errors, actions in progress, reconcile corrections (metrics). */
  observer?: PoolObserver;
  /** Which attached ENIs are ours (MANAGE_UNTAGGED_ENI). */
  rules?: ManagedEniRules;
  now?: () => number;
  intervalMs?: number;
  reconcileAfterMs?: number;
  decreaseCooldownMs?: number;
  freeEni?: FreeEniOptions;
}

export interface TickResult {
  grew: boolean;
  gaveBack: number;
  freedEni?: string;
}

export class PoolManager {
  private readonly freed: FreedCache = new Map();
  private readonly unmanaged: Set<string>;
  private readonly now: () => number;
  private readonly observer: PoolObserver;
  private lastDecrease = -Infinity;
  private growPausedUntil = -Infinity;
  private lastAction: number;
  private readonly periodic: { everyMs: number; run: () => Promise<void>; last: number }[] = [];
  /** Called with pods whose address disappeared (reconcile); the agent persists the checkpoint. */
  onReleased: ((released: Released[]) => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly o: PoolManagerOptions) {
    this.now = o.now ?? Date.now;
    this.observer = o.observer ?? quietObserver;
    this.unmanaged = o.unmanaged ?? new Set();
    this.lastAction = this.now();
  }

  /** Other periodic work sharing the loop (e.g. the 30 s VPC CIDR watcher). */
  addPeriodic(p: { everyMs: number; run: () => Promise<void> }): void {
    this.periodic.push({ ...p, last: this.now() });
  }

  /** One decision round (docs/architecture.md#warm-pool). */
  async tick(): Promise<TickResult> {
    const o = this.o;
    const res: TickResult = { grew: false, gaveBack: 0 };
    if (o.provisioning === false) return res;
    if (isPoolTooLow(o.ds.stats(), o.warm, o.limits, o.maxPods)) {
      if (this.now() < this.growPausedUntil) return res;
      await o.supply.grow(0).then(
        () => (res.grew = true),
        (e: unknown) => {
          // Upstream pauses growth for 2 minutes after the subnet ran out, instead of asking EC2 every tick.
          if (e instanceof CapacityError && e.reason === 'subnet-exhausted')
            this.growPausedUntil = this.now() + 120_000;
          o.logger.debug({ err: e }, 'pool below target but cannot grow');
        },
      );
      if (res.grew) this.lastAction = this.now();
      return res;
    }
    await o.state.lock.run(async () => {
      const stats = o.ds.stats();
      const now = this.now();
      if (isPoolTooHigh(stats, o.warm) && now - this.lastDecrease >= (o.decreaseCooldownMs ?? 30_000)) {
        res.gaveBack = await tracked(this.observer, 'decreaseDatastorePool', () =>
          decreasePool(o.ec2, o.ds, decreaseCount(stats, o.warm), this.freed, now, {
            ...o,
            onUnassignFailed: () => this.observer.error('decreaseIPPool'),
          }),
        ).catch((e: unknown) => {
          this.observer.error('decreaseIPPool');
          throw e;
        });
        this.lastDecrease = this.lastAction = now;
      }
      const after = o.ds.stats();
      const views = eniViews(o.ds, o.state.ledger);
      if (!shouldRemoveExtraEnis(after, o.warm, o.limits, views)) return;
      // docs/architecture.md#decisions, 1: the highest device number goes first (views come in ascending
      // device order).
      const id = deletableEni([...views].reverse(), o.warm);
      if (id) res.freedEni = (await this.freeOne(id)) ? id : undefined;
    });
    return res;
  }

  private async freeOne(id: string): Promise<boolean> {
    const o = this.o;
    const eni = o.ds.eniList().find((e) => e.id === id);
    if (!eni) return false;
    try {
      o.ds.removeEni(id); // not forced: a pod may have taken an address since the decision
    } catch {
      return false;
    }
    const f = o.state.ledger.get(id);
    if (f?.mac && f.primaryIp && eni.subnetCidr)
      await o.plumbing
        .down({
          id,
          mac: f.mac,
          primaryIp: f.primaryIp,
          subnetCidr: eni.subnetCidr,
          deviceNumber: eni.deviceNumber,
          table: eni.routeTableId,
        })
        .catch((e: unknown) => o.logger.warn({ eni: id, err: e }, 'host teardown of a freed ENI failed'));
    const ok = await freeEni(o.ec2, id, { ...o.freeEni, onCall: o.onCall }).catch((e: unknown) => {
      // Detached but not deleted: the ENI is out of the pool; the leaked-ENI sweep deletes it later.
      this.observer.utilsError('FreeENIDeleteErr', errorCode(e));
      o.logger.warn({ eni: id, err: e }, 'a freed ENI could not be deleted');
      return false;
    });
    if (!ok) this.observer.error('decreaseIPPoolFreeENIFailed');
    o.state.ledger.forget(id);
    this.lastAction = this.now();
    o.logger.info({ eni: id, detachedAndDeleted: ok }, 'freed a surplus ENI');
    return ok;
  }

  /**
   * Reconcile now (docs/architecture.md#warm-pool, "Reconcile"); the loop calls it 60 s after the last pool
   * action.
   */
  async reconcile(): Promise<ReconcileResult> {
    const o = this.o;
    const r = await o.state.lock.run(() =>
      tracked(this.observer, 'nodeIPPoolReconcile', () =>
        reconcilePool({
          ec2: o.ec2,
          ds: o.ds,
          ledger: o.state.ledger,
          plumbing: o.plumbing,
          freed: this.freed,
          unmanaged: this.unmanaged,
          instanceId: o.instanceId,
          readImds: o.readImds,
          now: this.now,
          logger: o.logger,
          onCall: o.onCall,
          observer: this.observer,
          ...(o.rules ? { rules: o.rules } : {}),
        }),
      ).catch((e: unknown) => {
        this.observer.error('reconcileFailedGetENIs');
        throw e;
      }),
    );
    this.lastAction = this.now();
    if (r.released.length) await this.onReleased?.(r.released);
    return r;
  }

  sweepLeakedEnis(): Promise<LeakSweepResult> {
    const o = this.o;
    return sweepLeakedEnis(o.ec2, {
      vpcId: o.vpcId,
      clusterName: o.clusterName,
      logger: o.logger,
      onCall: o.onCall,
      observer: this.observer,
      now: this.now,
      ...(o.freeEni?.backoffScale !== undefined ? { backoffScale: o.freeEni.backoffScale } : {}),
    });
  }

  private async round(): Promise<void> {
    const o = this.o;
    await this.tick();
    const now = this.now();
    if (now - this.lastAction >= (o.reconcileAfterMs ?? 60_000)) await this.reconcile();
    for (const p of this.periodic)
      if (now - p.last >= p.everyMs) {
        p.last = now;
        await p.run().catch((e: unknown) => o.logger.warn({ err: e }, 'periodic task failed'));
      }
  }

  start(): void {
    const every = this.o.intervalMs ?? 2_500;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.round()
        .catch((e: unknown) => this.o.logger.error({ err: e }, 'pool manager round failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(loop, every).unref();
        });
    };
    this.timer = setTimeout(loop, every).unref();
    if (this.o.leakedEniCleanup !== false && this.o.provisioning !== false) {
      const sweep = () => {
        if (this.stopped) return;
        this.sweepLeakedEnis()
          .catch((e: unknown) => this.o.logger.warn({ err: e }, 'leaked-ENI sweep failed'))
          .finally(() => {
            if (!this.stopped) setTimeout(sweep, 3_600_000).unref();
          });
      };
      setTimeout(sweep, Math.floor(Math.random() * 300_000)).unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
