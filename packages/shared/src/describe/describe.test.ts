import { describe, expect, it } from 'vitest';
import { describeValue, excerpt } from './index.js';

const nested = (depth: number, open = '[', close = ']') =>
  JSON.parse(open.repeat(depth) + close.repeat(depth));

describe('describeValue', () => {
  it('names the type and a short excerpt of every JSON value', () => {
    expect(describeValue(2147483648)).toBe('a number (2147483648)');
    expect(describeValue('nohost')).toBe('a string ("nohost")');
    expect(describeValue(true)).toBe('a boolean (true)');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue([1, 'a', { b: [null] }])).toBe('an array ([1,"a",{"b":[null]}])');
    expect(describeValue({})).toBe('an object ({})');
  });
  it('is bounded and never recurses, whatever the depth or size', () => {
    for (const depth of [5_000, 200_000]) {
      const d = describeValue(nested(depth));
      expect(d).toBe(`an array (${'['.repeat(60)}…)`);
    }
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    expect(excerpt(wide).length).toBeLessThanOrEqual(61);
    expect(excerpt('x'.repeat(1_000_000), 10)).toBe('"xxxxxxxxx…');
    expect(excerpt([], 10)).toBe('[]');
  });
});
