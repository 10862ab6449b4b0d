import * as net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIPv4, isIPv6 } from './ip-syntax.js';

// Strings built from the characters addresses are made of, so that near-misses are common.
const nearAddress = fc
  .array(fc.constantFrom(...'0123456789abcdefABCDEFg:.%-', '::', '255', '256', '0x', 'ffff', '01'), {
    maxLength: 24,
  })
  .map((parts) => parts.join(''));

describe('IP text syntax, as node:net sees it', () => {
  it('agrees with node:net on addresses, near-misses and noise', () => {
    const agree = (s: string) => {
      expect(isIPv4(s), s).toBe(net.isIPv4(s));
      expect(isIPv6(s), s).toBe(net.isIPv6(s));
    };
    fc.assert(fc.property(fc.ipV4(), agree), { numRuns: 500 });
    fc.assert(fc.property(fc.ipV6(), agree), { numRuns: 2000 });
    fc.assert(fc.property(fc.ipV4Extended(), agree), { numRuns: 500 });
    fc.assert(fc.property(nearAddress, agree), { numRuns: 20000 });
    fc.assert(
      fc.property(
        fc.ipV6().map((a) => `${a}%eth0`),
        agree,
      ),
      { numRuns: 200 },
    );
  });
  it('examples', () => {
    for (const ok of [
      '::',
      '::1',
      '1::',
      'fe80::1%eth0',
      '::ffff:10.0.0.1',
      '1:2:3:4:5:6:7::',
      '1:2:3:4:5:6:1.2.3.4',
    ])
      expect(isIPv6(ok), ok).toBe(true);
    for (const bad of [
      ':::',
      '1:::2',
      ':1::',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1::2:3:4:5:6:7:8',
      '::1.2.3.4:1',
      '12345::',
    ])
      expect(isIPv6(bad), bad).toBe(false);
    expect(isIPv4('10.0.0.1')).toBe(true);
    for (const bad of ['010.0.0.1', '256.0.0.1', '1.2.3', '1.2.3.4.5', ' 1.2.3.4'])
      expect(isIPv4(bad), bad).toBe(false);
  });
});
