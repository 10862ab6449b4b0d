import { describe, expect, it } from 'vitest';
import { decide } from './leader.js';

describe('leader lease decision', () => {
  const lease = (holder: string | undefined, renewedAgoMs: number, now = 100_000) => ({
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new Date(now - renewedAgoMs) },
  });
  it('the holder renews; an empty lease is taken; a fresh foreign lease is waited on; an expired one taken', () => {
    expect(decide(lease('me', 1000), 'me', 100_000)).toBe('renew');
    expect(decide(lease(undefined, 0), 'me', 100_000)).toBe('acquire');
    expect(decide(lease('other', 14_000), 'me', 100_000)).toBe('wait');
    expect(decide(lease('other', 15_001), 'me', 100_000)).toBe('acquire');
  });
});
