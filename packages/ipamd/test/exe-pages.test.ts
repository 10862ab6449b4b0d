// The executable's start-up pages are unmapped only where that is safe (src/exe-pages.ts): clean, read-only
// mappings of the executable itself.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { releasableMappings, releaseExePages } from '../src/exe-pages.js';

const mapping = (range: string, perms: string, inode: number, anonKb: number, name: string): string =>
  `${range} ${perms} 00001000 fd:01 ${inode}                    ${name}\n` +
  `Size:               1024 kB\nRss:                 512 kB\nAnonymous:          ${anonKb} kB\n` +
  `VmFlags: rd ex mr mw me\n`;

/** Resident and anonymous KiB of the mappings of this process's executable, by perms. */
function exeResidency(): { readOnlyRss: number; readOnlyAnon: number } {
  const ino = statSync('/proc/self/exe').ino;
  const out = { readOnlyRss: 0, readOnlyAnon: 0 };
  let cur: { mine: boolean; writable: boolean } | undefined;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ (\S{4}) \S+ \S+ (\d+)/.exec(line);
    if (m) cur = { mine: Number(m[2]) === ino, writable: m[1]?.[1] === 'w' };
    else if (cur?.mine && !cur.writable && /^(Rss|Anonymous):/.test(line)) {
      const kb = Number(line.split(/\s+/)[1]);
      if (line.startsWith('Rss:')) out.readOnlyRss += kb;
      else out.readOnlyAnon += kb;
    }
  }
  return out;
}

describe('exe-pages', () => {
  it('picks only the read-only mappings of the executable that hold no anonymous page', () => {
    const smaps =
      mapping('00400000-00500000', 'r--p', 42, 0, '/bin/exe') +
      mapping('00500000-00900000', 'r-xp', 42, 0, '/bin/exe') +
      mapping('00900000-00a00000', 'r--p', 42, 16, '/bin/exe') + // relocated (RELRO): private copies
      mapping('00a00000-00a10000', 'rw-p', 42, 0, '/bin/exe') +
      mapping('00b00000-00c00000', 'r-xp', 7, 0, '/lib/libc.so.6') +
      mapping('00c00000-00d00000', 'rw-p', 0, 1024, '') +
      mapping('7f0000000000-7f0000200000', 'r-xp', 42, 0, '/bin/exe'); // remapped builtins
    expect(releasableMappings(smaps, 42)).toEqual([
      { start: 0x400000n, length: 0x100000n },
      { start: 0x500000n, length: 0x400000n },
      { start: 0x7f0000000000n, length: 0x200000n },
    ]);
    expect(releasableMappings(smaps, 0)).toEqual([]);
    // A mapping whose Anonymous line is missing is not known to be clean.
    expect(releasableMappings('00400000-00500000 r-xp 00000000 fd:01 42 /bin/exe\nRss: 4 kB\n', 42)).toEqual(
      [],
    );
  });

  it('unmaps the executable pages of this process, which keeps running on them', () => {
    const before = exeResidency();
    expect(before.readOnlyRss).toBeGreaterThan(4096); // node touched megabytes of its own code and data
    expect(releaseExePages()).toBeGreaterThan(0);
    const after = exeResidency();
    // Some pages are mapped again at once (this code runs on them), far fewer than start-up held.
    expect(after.readOnlyRss).toBeLessThan(before.readOnlyRss / 2);
    // The relocated read-only mapping (RELRO) keeps its private pages, the relocations.
    expect(before.readOnlyAnon).toBeGreaterThan(0);
    expect(after.readOnlyAnon).toBe(before.readOnlyAnon);
    // Code all over the executable still runs: JSON, regexps, crypto, a child process.
    expect(JSON.parse(JSON.stringify({ a: [1, 2] }))).toEqual({ a: [1, 2] });
    expect(/x(\d+)/.exec('ax42')?.[1]).toBe('42');
    expect(
      execFileSync(process.execPath, ['-e', 'process.stdout.write(String(6*7))'], { encoding: 'utf8' }),
    ).toBe('42');
  });
});
