// Durable allocation state (docs/architecture.md#checkpoint-file): every allocation change is on disk before
// ipamd answers, and upstream's checkpoint file (`ipam.json`, format.ts) stays the compatible view of it.
//
// Group commit over an append-only journal: a change is made durable by one record appended to a preallocated
// journal segment opened O_DSYNC (one positional write, one round trip to the thread pool, no metadata to
// journal), not by rewriting the checkpoint (temp file, fsync, rename, directory fsync). The event loop keeps
// serving while a record is written; every change made meanwhile is covered by the next single record, written
// as soon as the current one is durable, so a caller waits between one and two writes.
//
// Compaction keeps the checkpoint file current: once the journal has been idle for `compactIdleMs`, or every
// `compactEveryMs` under steady load, or when a segment is half full, appends switch to a spare segment at a
// record boundary and the state the earlier records add up to is written as the checkpoint (temp file, fsync,
// rename, directory fsync) off the request path; only then are the older segments retired (recycled as the next
// spare). Its fsyncs slow the record writes that overlap them (measured: docs/architecture.md#checkpoint-file),
// so a compaction starts when no change is waiting to be written, and is forced before a record only when the
// segment is half full or the file is two intervals behind. After a crash the checkpoint is complete but may be
// up to one compaction interval old; load() replays the journal onto it, and the start-up write makes it current.
import { closeSync, constants, mkdirSync, openSync, readFileSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@vpc-cni/shared/logging';
import { StartupError } from '@vpc-cni/shared/startup';
import {
  type CheckpointEntry,
  CheckpointFormatError,
  checkpointText,
  decodeCheckpointFile,
  encodeCheckpoint,
} from './format.js';
import { Diff, encodeBatch, encodeRecord, replay, scanSegment } from './journal-format.js';
import { durableReplace, fsyncDir, listSegments, writeAt } from './segment-files.js';

export { durableAddresses, readDurableAllocations } from './durable-read.js';

interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function waiter(): Waiter {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export type LoadResult =
  | { kind: 'missing' }
  | { kind: 'loaded'; entries: CheckpointEntry[] }
  /** Unreadable as a checkpoint: moved aside to `movedTo`; the caller rebuilds state. */
  | { kind: 'corrupt'; reason: string; movedTo: string };

export interface CheckpointOptions {
  /** Bytes preallocated per journal segment. */
  segmentBytes?: number;
  /** Under steady load the checkpoint file is rewritten about this often (at most twice as late). */
  compactEveryMs?: number;
  /** Once no record has been written for this long, the checkpoint file is brought up to date. */
  compactIdleMs?: number;
}

interface Segment {
  gen: number;
  path: string;
  fd: number;
  /** Where the next record goes. */
  offset: number;
}

// 1 MiB: a start-up writes and syncs one; 4 MiB cost 0.4-2.6 s per start on a busy disk (docs/architecture.md#checkpoint-file).
const SEGMENT_BYTES = 1 << 20;
// 10 s under load, 1 s once idle: each compaction's fsyncs slow the record writes that overlap them.
const COMPACT_EVERY_MS = 10_000;
const COMPACT_IDLE_MS = 1_000;

export class Checkpoint {
  private running = false;
  private next: Waiter | undefined;
  /** Completed writes: journal records and whole-checkpoint writes of the commit path (tests and metrics). */
  writes = 0;
  /** Completed compactions (the checkpoint file rewritten from the journal's state). */
  compactions = 0;
  private readonly diff = new Diff();
  /** The segment records are appended to; undefined until the first (start-up) write. */
  private seg: Segment | undefined;
  /** The next segment, ready (preallocated, its name durable) when compaction switches to it. */
  private spare: Segment | undefined;
  private preparing: Promise<void> | undefined;
  /** Segments whose records the checkpoint file does not cover yet (older than `seg`). */
  private live: Segment[] = [];
  /** Segment files the checkpoint covers: recycled as spares, or deleted. */
  private retired: { gen: number; path: string }[] = [];
  private maxGen = 0;
  /** The next write rewrites the checkpoint whole and starts a fresh segment (start-up, after a failure). */
  private needsBase = true;
  private compacting: Promise<void> | undefined;
  private lastCompact = performance.now();
  private idleTimer: NodeJS.Timeout | undefined;
  /** When the last write ended (the idle compaction waits for compactIdleMs after it). */
  private lastRecord = performance.now();
  private closed = false;
  private readonly segmentBytes: number;
  private readonly compactEveryMs: number;
  private readonly compactIdleMs: number;

  constructor(
    readonly path: string,
    private readonly snapshot: () => readonly CheckpointEntry[],
    private readonly logger: Logger,
    options: CheckpointOptions = {},
  ) {
    this.segmentBytes = options.segmentBytes ?? SEGMENT_BYTES;
    this.compactEveryMs = options.compactEveryMs ?? COMPACT_EVERY_MS;
    this.compactIdleMs = options.compactIdleMs ?? Math.min(COMPACT_IDLE_MS, this.compactEveryMs);
  }

  /** The checkpoint file with the journal replayed onto it. */
  async load(): Promise<LoadResult> {
    let text: string | undefined;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        throw new StartupError(
          `the checkpoint ${this.path} cannot be read (${code ?? String(e)})`,
          `make it a readable file for aws-node (or move it aside to start empty; AWS_VPC_K8S_CNI_BACKING_STORE names it)`,
          { cause: e },
        );
    }
    const segments = listSegments(this.path);
    for (const s of segments) this.maxGen = Math.max(this.maxGen, s.gen);
    try {
      const file = text === undefined ? { entries: [] } : decodeCheckpointFile(text);
      const base = file.entries;
      const records: string[] = [];
      // Only a file written by the compaction names the journal that continues it. Without the name (no file,
      // or one upstream aws-node rewrote after a swap), the segments on disk are not this file's: ignored, and
      // retired by the start-up write.
      const from = file.journalFrom;
      if (from === undefined && segments.length > 0)
        this.logger.warn(
          { path: this.path, segments: segments.length },
          'journal segments ignored: the checkpoint file does not name its journal (written by another program)',
        );
      for (const s of segments) {
        if (from === undefined || s.gen < from) continue;
        const scan = scanSegment(readFileSync(s.path), s.gen);
        records.push(...scan.records);
        if (scan.tail)
          this.logger.debug(
            { segment: s.path, records: scan.records.length, tail: scan.tail },
            'journal end',
          );
      }
      if (text === undefined && records.length === 0) return { kind: 'missing' };
      const entries = replay(base, records);
      if (records.length > 0)
        this.logger.info(
          { segments: segments.length, records: records.length, allocations: entries.length },
          'journal replayed onto the checkpoint',
        );
      return { kind: 'loaded', entries };
    } catch (e) {
      if (!(e instanceof CheckpointFormatError)) throw e;
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const movedTo = `${this.path}.corrupt-${stamp}`;
      if (text !== undefined) await rename(this.path, movedTo);
      for (const s of segments) await rename(s.path, `${s.path}.corrupt-${stamp}`);
      this.logger.error(
        { path: this.path, movedTo, reason: e.message, bytes: text?.length, segments: segments.length },
        'CHECKPOINT CORRUPT: moved aside; allocations will be rebuilt from the host routes of running pods',
      );
      return { kind: 'corrupt', reason: e.message, movedTo };
    }
  }

  /** Resolves once the state as of (at least) this call is durable. */
  persist(): Promise<void> {
    this.next ??= waiter();
    const w = this.next;
    if (!this.running) {
      // Start after this I/O phase, so every request read in it shares the write.
      this.running = true;
      setImmediate(() => void this.drain());
    }
    return w.promise;
  }

  /** Graceful stop: everything durable and the checkpoint file current; the journal is then empty. */
  async close(): Promise<void> {
    await this.persist();
    await this.compacting;
    this.needsBase = true;
    await this.persist();
    this.closed = true;
    clearTimeout(this.idleTimer);
    await this.preparing?.catch(() => undefined);
    for (const s of [this.seg, this.spare, ...this.live]) if (s) closeSync(s.fd);
    this.seg = this.spare = undefined;
    this.live = [];
    this.needsBase = true;
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const w = this.next;
      this.next = undefined;
      try {
        if (this.needsBase) await this.writeBase();
        else await this.append();
        w.resolve();
      } catch (e) {
        // The journal's view may be ahead of the disk now: start over from a whole checkpoint.
        this.needsBase = true;
        w.reject(e);
      }
      // No pause here: changes made during the write are already waiting, and go in the next one at once.
    }
    this.running = false;
    // Nothing is waiting to be written: the moment for a compaction that is due, so no record is sure to overlap it.
    if (this.seg && !this.closed && !this.needsBase && this.compactionDue(this.seg, false)) this.rotate();
    this.scheduleIdleCompaction();
  }

  /** One record with everything that changed since the last one. */
  private async append(): Promise<void> {
    const seg = this.seg as Segment;
    if (this.compactionDue(seg, true)) this.rotate();
    const batch = this.diff.next(this.snapshot());
    if (batch.put.length === 0 && batch.released.length === 0) return; // earlier records are durable already
    const cur = this.seg as Segment;
    const rec = encodeRecord(cur.gen, encodeBatch(batch.put, batch.released));
    // Claim the space before the write, so a rotation meanwhile cannot place a record over it.
    const at = cur.offset;
    cur.offset += rec.length;
    await writeAt(cur.fd, rec, at); // O_DSYNC: durable when it returns
    this.writes++;
  }

  /**
   * Whether to compact now. Before a record (`beforeRecord`), only when it cannot wait: the segment half full, or
   * the file two intervals behind (a journal that is never idle); otherwise once the interval has passed or the
   * segment is a quarter full.
   */
  private compactionDue(seg: Segment, beforeRecord: boolean): boolean {
    if (this.compacting || !this.spare || seg.offset === 0) return false;
    const age = performance.now() - this.lastCompact;
    return beforeRecord
      ? seg.offset >= this.segmentBytes / 2 || age >= 2 * this.compactEveryMs
      : seg.offset >= this.segmentBytes / 4 || age >= this.compactEveryMs;
  }

  /**
   * At a record boundary: appends move to the spare segment, and the state the records so far add up to is
   * written as the checkpoint in the background; the segments it covers are then retired.
   */
  private rotate(): void {
    const old = this.seg as Segment;
    this.seg = this.spare as Segment;
    this.spare = undefined;
    this.live.push(old);
    const covered = [...this.live];
    const text = checkpointText(this.diff.lines(), this.seg.gen);
    this.lastCompact = performance.now();
    this.compacting = durableReplace(this.path, text)
      .then(() => {
        this.compactions++;
        this.live = this.live.filter((s) => !covered.includes(s));
        for (const s of covered) {
          closeSync(s.fd);
          this.retired.push({ gen: s.gen, path: s.path });
        }
        this.prepareSpare();
      })
      .catch((err: unknown) => {
        // The segments stay live (replayed at start-up), the next compaction covers them too.
        this.logger.error({ err, path: this.path }, 'checkpoint compaction failed; journal kept');
        this.prepareSpare();
      })
      .finally(() => {
        this.compacting = undefined;
      });
  }

  /** With records the checkpoint file does not show yet: compact once no record has been written for a while. */
  private scheduleIdleCompaction(): void {
    this.lastRecord = performance.now();
    if (this.closed || this.idleTimer || !this.seg || this.seg.offset === 0) return;
    const check = (): void => {
      this.idleTimer = undefined;
      if (this.closed || !this.seg || this.seg.offset === 0) return;
      const idleFor = performance.now() - this.lastRecord;
      if (this.running || idleFor < this.compactIdleMs || this.compacting || !this.spare) {
        this.idleTimer = setTimeout(check, Math.max(10, this.compactIdleMs - idleFor)).unref();
        return;
      }
      this.rotate();
    };
    this.idleTimer = setTimeout(check, this.compactIdleMs).unref();
  }

  /** The next spare: a retired segment renamed (its old records are of another generation), or a new one. */
  private prepareSpare(): void {
    if (this.spare || this.preparing || this.closed) return;
    this.preparing = this.newSegment()
      .then((s) => {
        if (this.closed) closeSync(s.fd);
        else this.spare = s;
      })
      .catch((err: unknown) => this.logger.error({ err }, 'journal segment could not be prepared'))
      .finally(() => {
        this.preparing = undefined;
      });
  }

  private async newSegment(): Promise<Segment> {
    const gen = ++this.maxGen;
    const path = `${this.path}.journal.${gen}`;
    const reuse = this.retired.shift();
    for (const r of this.retired.splice(0)) await unlink(r.path).catch(() => undefined);
    if (reuse) await rename(reuse.path, path);
    else {
      const f = await open(path, 'w', 0o600);
      try {
        // Zeros, not fallocate: the blocks are then written, so an O_DSYNC record has no extent change to log.
        await f.writeFile(Buffer.alloc(this.segmentBytes));
        await f.datasync();
      } finally {
        await f.close();
      }
    }
    await fsyncDir(dirname(path)); // the name must be durable before a record in it is acknowledged
    const fd = openSync(path, constants.O_WRONLY | constants.O_DSYNC);
    return { gen, path, fd, offset: 0 };
  }

  /** The whole state as the checkpoint file, then a fresh segment: start-up, and after a failed write. */
  private async writeBase(): Promise<void> {
    await this.compacting;
    await this.preparing;
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true });
    const snap = this.snapshot();
    const onDisk = listSegments(this.path);
    for (const r of [...onDisk, ...this.retired]) this.maxGen = Math.max(this.maxGen, r.gen);
    // The file names the next generation: every record so far (older generations) is covered once it is written.
    await durableReplace(this.path, encodeCheckpoint(snap, this.maxGen + 1));
    this.writes++;
    const known = new Set(this.retired.map((r) => r.path));
    for (const s of onDisk) if (!known.has(s.path)) this.retired.push(s);
    for (const s of [this.seg, this.spare, ...this.live]) if (s) closeSync(s.fd);
    this.seg = this.spare = undefined;
    this.live = [];
    this.seg = await this.newSegment(); // generation maxGen + 1, as named in the file
    this.diff.reset(snap);
    this.lastCompact = performance.now();
    this.needsBase = false;
    this.prepareSpare();
  }
}
