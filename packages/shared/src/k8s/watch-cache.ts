// A list+watch cache of one resource over @kubernetes/client-node's ListWatch. The library re-lists after
// 410 Gone and resumes a watch the server ended; on any other failure (API server down or restarting, network)
// it stops and reports an error, so this restarts it with backoff. While it is not healthy (before the first
// list, and from an error until a restart succeeds) readers fall back to the API (`healthy` says when).
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '@vpc-cni/shared/logging';

export interface WatchCacheOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** Collection path, e.g. /api/v1/pods. */
  path: string;
  /** The matching list call (the same selector). */
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  fieldSelector?: string;
  /** For logs: "pods on node-a". */
  what: string;
  logger: Logger;
  retryMs?: { first: number; max: number };
}

export class WatchCache<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private healthyNow = false;
  private failedSinceStart = false;
  private recovering = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private delay: number;

  constructor(private readonly o: WatchCacheOptions<T>) {
    this.delay = o.retryMs?.first ?? 1_000;
    this.lw = new ListWatch<T>(
      o.path,
      new Watch(o.kc),
      // ListWatch's list type is the generated list class; only items and metadata are read.
      o.list as ConstructorParameters<typeof ListWatch<T>>[2],
      false,
      undefined,
      o.fieldSelector,
    );
    this.lw.on('error', (err) => this.failed(err));
  }

  /** True while the cache follows the API: listed, and the watch running since. */
  get healthy(): boolean {
    return this.healthyNow;
  }

  /** Lists and starts watching; resolves when done or failed (a failure schedules a retry). */
  async start(): Promise<void> {
    this.stopped = false;
    this.failedSinceStart = false;
    await this.lw.start();
    if (!this.failedSinceStart && !this.stopped) {
      if (this.recovering) this.o.logger.info({ what: this.o.what }, 'watch resumed');
      this.recovering = false;
      this.healthyNow = true;
      this.delay = this.o.retryMs?.first ?? 1_000;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.healthyNow = false;
    clearTimeout(this.retry);
    await this.lw.stop();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  onDelete(cb: (obj: T) => void): void {
    this.lw.on('delete', cb);
  }

  /** Every change the cache sees (the initial list arrives as `add` events). */
  on(event: 'add' | 'update' | 'delete', cb: (obj: T) => void): void {
    this.lw.on(event, cb);
  }

  private failed(err: unknown): void {
    this.failedSinceStart = true;
    this.recovering = true;
    this.healthyNow = false;
    if (this.stopped || this.retry) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.o.retryMs?.max ?? 30_000);
    this.o.logger.warn(
      { what: this.o.what, err, retryInMs: wait },
      'watch failed; reading from the API until it is back',
    );
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) void this.start();
    }, wait);
    this.retry.unref();
  }
}
