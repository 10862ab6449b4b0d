import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bigintToIp,
  canonicalIp,
  cidrContains,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  ipToBigint,
  nthAddress,
  parseCidr,
} from './index.js';

describe('ipmath', () => {
  it('parses, normalises and formats v4 and v6 CIDRs', () => {
    expect(formatCidr(parseCidr('10.0.1.23/28'))).toBe('10.0.1.16/28');
    expect(formatCidr(parseCidr('10.0.1.23'))).toBe('10.0.1.23/32');
    expect(formatCidr(parseCidr('2600:1f14:abc:de01:1234:5::7/80'))).toBe('2600:1f14:abc:de01:1234::/80');
    expect(cidrSize(parseCidr('10.0.0.0/28'))).toBe(16n);
    expect(cidrSize(parseCidr('2600::/80'))).toBe(281474976710656n);
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/bad prefix length/);
    expect(() => parseCidr('10.0.0/8')).toThrow(/not an IP/);
  });

  it('walks a prefix from its base address', () => {
    const p = parseCidr('2600:1f14:abc:de01:1234::/80');
    expect(nthAddress(p, 0n)).toBe('2600:1f14:abc:de01:1234::');
    expect(nthAddress(p, 1n)).toBe('2600:1f14:abc:de01:1234::1');
    const q = parseCidr('10.0.1.16/28');
    expect([nthAddress(q, 0n), nthAddress(q, 15n)]).toEqual(['10.0.1.16', '10.0.1.31']);
    expect(() => nthAddress(q, 16n)).toThrow(/outside 10.0.1.16\/28/);
  });

  it('containment and overlap agree with the numeric ranges', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.ipV4(), (ip, bits, other) => {
        const c = parseCidr(`${ip}/${bits}`);
        expect(cidrContains(c, ip)).toBe(true);
        const n = ipToBigint(other);
        expect(cidrContains(c, other)).toBe(n >= c.base && n < c.base + cidrSize(c));
        expect(cidrsOverlap(c, parseCidr(other))).toBe(cidrContains(c, other));
      }),
    );
  });

  it('numbers round-trip through address text, v4 and v6', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (n) => {
        expect(ipToBigint(bigintToIp(n, 6))).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (n) => {
        expect(ipToBigint(bigintToIp(n, 4))).toBe(n);
      }),
    );
    expect(canonicalIp('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
  });
});
