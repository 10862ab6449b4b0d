// What a starting ipamd has brought up so far (servers, loops, watches), released in reverse order when a later
// step fails, so a daemon that cannot start leaves nothing listening and exits (see the package README).
import type { Logger } from '@vpc-cni/shared/logging';

export class Started {
  private readonly items: { what: string; release: () => Promise<unknown> | void }[] = [];

  add(what: string, release: () => Promise<unknown> | void): void {
    this.items.push({ what, release });
  }

  /** Releases everything, newest first; a release that fails is logged and the rest still run. */
  async release(logger: Logger): Promise<void> {
    for (const { what, release } of this.items.splice(0).reverse()) {
      try {
        await release();
      } catch (err) {
        logger.warn({ err, what }, 'releasing a started part failed');
      }
    }
  }
}
