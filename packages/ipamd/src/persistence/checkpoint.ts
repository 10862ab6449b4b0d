// The checkpoint file: every allocation change is durable before ipamd answers. A write is temp file → fsync →
// rename → fsync of the directory. Group commit: while one write is in flight, every change that arrives waits
// for the next single write, which snapshots the state when it starts, so N concurrent requests cost two writes,
// not N, and each caller's promise settles only once a write containing its change is on disk.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '@vpc-cni/shared/logging';
import { StartupError } from '@vpc-cni/shared/startup';
import { type CheckpointEntry, CheckpointFormatError, decodeCheckpoint, encodeCheckpoint } from './format.js';

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

export class Checkpoint {
  private running = false;
  private next: Waiter | undefined;
  /** Completed writes (tests and metrics). */
  writes = 0;
  private dirReady = false;

  constructor(
    readonly path: string,
    private readonly snapshot: () => readonly CheckpointEntry[],
    private readonly logger: Logger,
  ) {}

  async load(): Promise<LoadResult> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { kind: 'missing' };
      throw new StartupError(
        `the checkpoint ${this.path} cannot be read (${code ?? String(e)})`,
        `make it a readable file for aws-node (or move it aside to start empty; AWS_VPC_K8S_CNI_BACKING_STORE names it)`,
        { cause: e },
      );
    }
    try {
      return { kind: 'loaded', entries: decodeCheckpoint(text) };
    } catch (e) {
      if (!(e instanceof CheckpointFormatError)) throw e;
      const movedTo = `${this.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(this.path, movedTo);
      this.logger.error(
        { path: this.path, movedTo, reason: e.message, bytes: text.length },
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

  private async drain(): Promise<void> {
    while (this.next) {
      const w = this.next;
      this.next = undefined;
      try {
        await this.write(encodeCheckpoint(this.snapshot()));
        this.writes++;
        w.resolve();
      } catch (e) {
        w.reject(e);
      }
      // Let requests that arrived during the write join the next one.
      await new Promise((r) => setImmediate(r));
    }
    this.running = false;
  }

  /**
   * Synchronous on purpose: the eight file-system steps of a durable write cost more in thread-pool round trips
   * than the fsync itself (~1 ms here); requests arriving meanwhile wait in the socket buffer and are batched
   * into the next write anyway.
   */
  private write(text: string): Promise<void> {
    const dir = dirname(this.path);
    if (!this.dirReady) {
      mkdirSync(dir, { recursive: true });
      this.dirReady = true;
    }
    const tmp = join(dir, `${basename(this.path)}.tmp${randomBytes(4).toString('hex')}`);
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
    } catch (e) {
      rmSync(tmp, { force: true });
      return Promise.reject(e);
    }
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
    return Promise.resolve();
  }
}
