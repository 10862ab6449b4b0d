import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ERRNO_NAMES } from './errno-names.js';
import { NetlinkError, errnoName } from './errors.js';

describe('errno names', () => {
  it('name every errno node:os knows, with the usual name where Linux has two', () => {
    const aliases = new Set(['EWOULDBLOCK', 'ENOTSUP', 'EDEADLOCK']);
    for (const [name, no] of Object.entries(constants.errno)) {
      if (aliases.has(name)) continue;
      expect(ERRNO_NAMES[no], name).toBe(name);
    }
    expect(Object.keys(ERRNO_NAMES).length).toBe(new Set(Object.values(constants.errno)).size);
  });
  it('an unknown errno is still named, and the message carries the meaning', () => {
    expect(errnoName(4095)).toBe('E4095');
    const e = new NetlinkError(11, 'RTM_NEWLINK', { name: 'x' });
    expect(e.code).toBe('EAGAIN');
    expect(e.message).toContain('EAGAIN timed out');
  });
});
