// Leader election over a coordination.k8s.io/v1 Lease (README: "Leader election"): the holder renews it every
// `retryMs`; another candidate takes it only once `holderIdentity` has not renewed for the lease duration. Writes
// use the Lease's resourceVersion, so two candidates racing for it cannot both win (409 Conflict for the loser).
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '@vpc-cni/shared/logging';

export type LeaseDecision = 'acquire' | 'renew' | 'wait';

/** Pure: what a candidate does with the Lease as read at `nowMs`. */
export function decide(lease: V1Lease, me: string, nowMs: number): LeaseDecision {
  const s = lease.spec ?? {};
  if (s.holderIdentity === me) return 'renew';
  if (!s.holderIdentity) return 'acquire';
  const renewed = s.renewTime ? new Date(s.renewTime).getTime() : 0;
  const durationMs = (s.leaseDurationSeconds ?? 15) * 1000;
  return nowMs - renewed > durationMs ? 'acquire' : 'wait';
}

export interface LeaderOptions {
  kc: KubeConfig;
  logger: Logger;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  retryMs: number;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lastRenew = 0;
  private stopped = false;

  constructor(private readonly o: LeaderOptions) {
    this.api = o.kc.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this candidate leads; `onLost` is called if it later fails to renew in time. */
  async run(onLost: () => void): Promise<void> {
    while (!this.stopped) {
      if (await this.tryOnce()) break;
      await new Promise((r) => setTimeout(r, this.o.retryMs));
    }
    if (this.stopped) return;
    this.o.logger.info(
      { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity },
      'became leader',
    );
    const renew = async () => {
      if (this.stopped) return;
      const ok = await this.tryOnce();
      if (!ok && Date.now() - this.lastRenew > this.o.leaseDurationMs) {
        this.leading = false;
        this.o.logger.error({ lease: this.o.name }, 'lost the leader lease');
        onLost();
        return;
      }
      this.timer = setTimeout(() => void renew(), this.o.retryMs);
    };
    this.timer = setTimeout(() => void renew(), this.o.retryMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tryOnce(): Promise<boolean> {
    const { namespace, name, identity } = this.o;
    const now = new Date();
    const spec = (acquire: boolean, prev?: V1Lease) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      renewTime: now,
      acquireTime: acquire ? now : prev?.spec?.acquireTime,
      leaseTransitions: (prev?.spec?.leaseTransitions ?? 0) + (acquire && prev ? 1 : 0),
    });
    try {
      let lease: V1Lease;
      try {
        lease = await this.api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
        await this.api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: spec(true),
          },
        });
        return this.won();
      }
      const d = decide(lease, identity, now.getTime());
      if (d === 'wait') return false;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: spec(d === 'acquire', lease) },
      });
      return this.won();
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code !== 409) this.o.logger.warn({ err, lease: name }, 'leader lease not renewed');
      return false;
    }
  }

  private won(): boolean {
    this.leading = true;
    this.lastRenew = Date.now();
    return true;
  }
}
