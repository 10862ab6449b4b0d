import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instanceLimits, knownInstanceTypes, maxPods, maxPodsFor } from './index.js';

const maxPodsFile = readFileSync(
  fileURLToPath(new URL('../../data/eni-max-pods.txt', import.meta.url)),
  'utf8',
);
const lines = maxPodsFile
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => l.split(/\s+/));

describe('limits', () => {
  it('matches every line of eni-max-pods.txt (secondary-IP formula)', () => {
    expect(lines.length).toBe(1391);
    let checked = 0;
    for (const [type, pods] of lines) {
      expect(maxPods(type as string), type).toBe(Number(pods));
      checked++;
    }
    expect(checked).toBe(knownInstanceTypes().length);
  });

  it('m5.large: 3 ENIs x 10 IPv4', () => {
    const l = instanceLimits('m5.large');
    expect(l).toMatchObject({ enis: 3, ipv4PerEni: 10, trunking: true });
    expect(maxPods('m5.large')).toBe(29);
  });

  it('prefix delegation, custom networking and MAX_ENI', () => {
    expect(maxPods('m5.large', { prefixDelegation: true })).toBe(110);
    expect(maxPods('m5.large', { prefixDelegation: true, prefixDelegationCap: 1000 })).toBe(3 * 9 * 16 + 2);
    expect(maxPods('m5.large', { customNetworking: true })).toBe(2 * 9 + 2);
    expect(maxPods('m5.large', { maxEni: 1 })).toBe(11);
    expect(maxPods('m5.large', { maxEni: 0 })).toBe(29); // MAX_ENI < 1 is ignored, as upstream
    expect(maxPods('m5.large', { maxEni: 10 })).toBe(29); // never above the instance limit
    const t3nano = instanceLimits('t3.nano');
    expect(t3nano && maxPodsFor(t3nano)).toBe(4);
  });

  it('unknown types are reported, not guessed', () => {
    expect(instanceLimits('x99.huge')).toBeUndefined();
    expect(instanceLimits('toString')).toBeUndefined();
    expect(() => maxPods('x99.huge')).toThrow(/unknown instance type "x99.huge"/);
  });
});
