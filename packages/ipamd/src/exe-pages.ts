// Unmaps the pages of the executable file that start-up touched, for the long-running programs (programs.ts).
// Start-up runs code and reads data all over the ~110 MiB executable (Node's machine code, its start-up snapshot,
// the SEA blob), and the kernel maps the file's cached pages around each fault (fault-around), so a daemon holds
// 50-70 MiB of the file's pages once started, most of which it never touches again. madvise(MADV_DONTNEED) on a
// private file mapping removes the process's page-table entries only: the pages stay in the page cache (shared by
// the two daemons, which are one file), and a later access maps them again (a minor fault, no I/O while cached).
// Only mappings of the executable that are not writable and hold no anonymous (copied-on-write) page are
// released: for those every page is the file's own, so mapping it again gives the same bytes. Writable mappings
// and the relocated read-only one (RELRO: written at load, then protected) hold private copies that
// MADV_DONTNEED would discard; they are never touched. Measured in docs/build.md ("Memory").
// Best effort: a failure to read /proc or to load the FFI leaves memory as it is.
import { readFileSync, statSync } from 'node:fs';
import koffi from 'koffi';

const MADV_DONTNEED = 4;

/** A mapping to release: its start address and length in bytes. */
export interface Range {
  start: bigint;
  length: bigint;
}

/**
 * The mappings of the file with inode `ino` that may be released, from the text of /proc/<pid>/smaps: not
 * writable, private or shared, and no anonymous page. Pure: the parsing is tested on its own (exe-pages.test.ts).
 */
export function releasableMappings(smaps: string, ino: number): Range[] {
  const out: Range[] = [];
  let cur: { range: Range; ok: boolean; anon: number | undefined } | undefined;
  const flush = (): void => {
    if (cur?.ok && cur.anon === 0) out.push(cur.range);
  };
  for (const line of smaps.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)(?:\s|$)/.exec(line);
    if (m) {
      flush();
      const [, lo, hi, perms, inode] = m as unknown as [string, string, string, string, string];
      const start = BigInt(`0x${lo}`);
      cur = {
        range: { start, length: BigInt(`0x${hi}`) - start },
        ok: Number(inode) === ino && ino !== 0 && perms[0] === 'r' && perms[1] === '-',
        anon: undefined,
      };
    } else if (cur && line.startsWith('Anonymous:')) {
      cur.anon = Number(/^Anonymous:\s+(\d+) kB/.exec(line)?.[1] ?? NaN);
    }
  }
  flush();
  return out;
}

type Madvise = (addr: bigint, length: bigint, advice: number) => number;
let madvise: Madvise | null | undefined;

/** Releases the executable's clean read-only mappings; returns the bytes of address space advised (0 if none). */
export function releaseExePages(): number {
  try {
    madvise ??= koffi
      .load('libc.so.6')
      .func('int madvise(uintptr_t addr, size_t length, int advice)') as Madvise;
  } catch {
    madvise = null;
  }
  if (!madvise) return 0;
  let advised = 0;
  try {
    const ino = statSync('/proc/self/exe').ino;
    for (const r of releasableMappings(readFileSync('/proc/self/smaps', 'utf8'), ino)) {
      if (madvise(r.start, r.length, MADV_DONTNEED) === 0) advised += Number(r.length);
    }
  } catch {
    // /proc unreadable: nothing released.
  }
  return advised;
}

/** Releases `delaysMs` after start; the timers never keep the process alive. */
export function startExePageRelease(delaysMs: number[]): void {
  for (const d of delaysMs) setTimeout(releaseExePages, d).unref();
}
