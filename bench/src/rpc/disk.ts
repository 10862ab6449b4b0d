// The rpc benchmark's disk baselines (bench/src/rpc.ts), measured in the directory of the agent's checkpoint, so
// on the same filesystem: what one durable write costs, and what the journal's writes cost at the 1,000 pairs/s
// of the latency target.
import { closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, write, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pct } from './calls.js';

/**
 * One durable write as the checkpoint did it before the journal (temp file, write, fsync, rename, fsync of the
 * directory), 200 times: `text` is the file's content.
 */
export function durableWrites(dir: string, text: string): { p50: number; p99: number } {
  const d = join(dir, 'baseline');
  mkdirSync(d);
  const ts: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    const fd = openSync(join(d, 'tmp'), 'w', 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(join(d, 'tmp'), join(d, 'ckpt'));
    const dfd = openSync(d, 'r');
    fsyncSync(dfd);
    closeSync(dfd);
    ts.push(performance.now() - t);
  }
  return { p50: pct(ts, 50), p99: pct(ts, 99) };
}

/** A preallocated, synced segment file opened O_DSYNC, as ipamd's journal keeps one (docs/architecture.md#checkpoint-file). */
function segment(dir: string, name: string): number {
  const d = join(dir, name);
  mkdirSync(d);
  const fd0 = openSync(join(d, 'seg'), 'w', 0o600);
  writeSync(fd0, Buffer.alloc(1 << 20));
  fsyncSync(fd0);
  closeSync(fd0);
  return openSync(join(d, 'seg'), constants.O_WRONLY | constants.O_DSYNC);
}

/**
 * The journal's floor: one record (~1 KiB, a batch of a few allocations) written at the end of a preallocated
 * file opened O_DSYNC, as ipamd appends a group commit, 200 times back to back.
 */
export function journalWrites(dir: string): { p50: number; p99: number } {
  const fd = segment(dir, 'journal-baseline');
  const rec = Buffer.alloc(1024, 0x61);
  const ts: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    writeSync(fd, rec, 0, rec.length, i * rec.length);
    ts.push(performance.now() - t);
  }
  closeSync(fd);
  return { p50: pct(ts, 50), p99: pct(ts, 99) };
}

/**
 * The disk's share of the latency target, with no RPC and no agent: records fall due open-loop at `rate` per second
 * for `seconds` (a timer about every millisecond, as the open-loop calls start), and are made durable the way the
 * journal does it: one write at a time, each a small record appended O_DSYNC (a write and its fdatasync in one
 * call) on the thread pool, covering every record due since the last one began (group commit). A record's latency
 * is from when it was due to when the write covering it returned: no call at this rate can be faster than that
 * (each Add or Del waits for its own record). p50/p99 over all records; `writes` = records actually written.
 */
export async function fsyncFloor(dir: string, rate: number, seconds: number) {
  const fd = segment(dir, 'fsync-floor');
  const total = Math.round(rate * seconds);
  const rec = Buffer.alloc(256, 0x61);
  const lat: number[] = [];
  let offset = 0;
  let writes = 0;
  let due = 0; // records due so far
  let covered = 0; // records written or being written
  let writing = false;
  let failed: unknown;
  const t0 = performance.now() + 5;
  const dueAt = (i: number): number => t0 + (i * 1000) / rate;
  const pump = (): void => {
    if (writing || covered >= due) return;
    writing = true;
    const from = covered;
    covered = due;
    const at = offset;
    offset = (offset + rec.length) % (1 << 20);
    write(fd, rec, 0, rec.length, at, (err) => {
      if (err) {
        failed = err;
        return;
      }
      const now = performance.now();
      for (let i = from; i < covered; i++) lat.push(now - dueAt(i));
      writes++;
      writing = false;
      pump();
    });
  };
  while (due < total && failed === undefined) {
    const now = performance.now();
    while (due < total && dueAt(due) <= now) due++;
    pump();
    await new Promise((r) => setTimeout(r, 1));
  }
  while (lat.length < total && failed === undefined) await new Promise((r) => setTimeout(r, 1));
  closeSync(fd);
  if (failed !== undefined) throw new Error('the fsync floor write failed', { cause: failed });
  return { p50: pct(lat, 50), p99: pct(lat, 99), writes };
}
