import { describe, expect, it } from 'vitest';
import { hostVethName, podKey } from './veth.js';

describe('host veth names and pod keys', () => {
  it('match the plugin naming (upstream test vectors)', () => {
    expect(hostVethName('eni', 'default', 'busybox')).toBe('eni12d4a061371');
    expect(hostVethName('eni', 'default', 'busybox', 1)).toBe('enia535d28d46c');
    expect(hostVethName('eni', 'stars', 'backend-6c8d5f7b9-xk2lm')).toBe('eni866a4c7311b');
  });

  it('pod keys are per pod, within the allowed characters and length', () => {
    expect(podKey('web-7d9f8b6c4-abcde', 'prod')).toBe('web-7d9f8b6c4-abcde@prod');
    expect(podKey('web-7d9f8b6c4-abcdf', 'prod')).not.toBe(podKey('web-7d9f8b6c4-abcde', 'prod'));
    const long = podKey('a'.repeat(253), 'n'.repeat(63));
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long).toMatch(/^[A-Za-z0-9_@.-]+$/);
    expect(long).not.toBe(podKey(`${'a'.repeat(252)}b`, 'n'.repeat(63)));
  });
});
