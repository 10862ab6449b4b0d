// One EC2 call with its outcome reported (metrics) and the errors that mean "the pool cannot grow" turned into a
// CapacityError whose text reaches the pod's CNI error.
import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { CapacityError } from '../service/supply.js';

export type CallObserver = (action: string, outcome: string, ms: number) => void;

const INSUFFICIENT = new Set(['InsufficientFreeAddressesInSubnet', 'InsufficientCidrBlocks']);

export const errorCode = (e: unknown): string =>
  e instanceof EC2ServiceException ? e.name : e instanceof Error ? e.name : 'error';

export async function ec2Call<T>(
  action: string,
  fn: () => Promise<T>,
  o: { onCall?: CallObserver | undefined; subnetId?: string },
): Promise<T> {
  const t0 = performance.now();
  try {
    const r = await fn();
    o.onCall?.(action, 'ok', performance.now() - t0);
    return r;
  } catch (e) {
    const code = errorCode(e);
    o.onCall?.(action, code, performance.now() - t0);
    if (INSUFFICIENT.has(code))
      throw new CapacityError(
        'subnet-exhausted',
        `subnet ${o.subnetId ?? '?'} has no free addresses (${code})`,
      );
    if (code === 'RequestLimitExceeded')
      throw new CapacityError(
        'ec2-throttled',
        `EC2 throttled ${action} (RequestLimitExceeded) after retries`,
      );
    throw e;
  }
}

/** Retry with exponential backoff and ≤15 % jitter (upstream's detach/delete loops). */
export async function withRetries<T>(
  fn: () => Promise<T>,
  o: { attempts: number; firstMs: number; maxMs: number; retryIf?: (e: unknown) => boolean },
): Promise<T> {
  let wait = o.firstMs;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= o.attempts || (o.retryIf && !o.retryIf(e))) throw e;
      await new Promise((r) => setTimeout(r, wait * (1 + Math.random() * 0.15)));
      wait = Math.min(wait * 2, o.maxMs);
    }
  }
}
