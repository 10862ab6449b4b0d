// The allocation journal's on-disk format (docs/architecture.md#checkpoint-file): pure encoding, scanning and
// replay, no I/O. A segment is a preallocated file of records, each
//   u32 payload length | u32 segment generation | u32 CRC-32 of (generation, payload) | payload
// (little endian), followed by zeros or by records of an older generation (segments are recycled). A scan stops
// at the first record that is not whole and valid: a zero length, a length past the end, another generation or a
// checksum mismatch. That is the torn tail of a write cut short by a crash; since every write starts only after
// the previous one is durable, nothing acknowledged lies beyond it.
//
// A record is one group commit: the allocations added or changed since the previous record (`allocations`, in
// the checkpoint's own entry form) and the keys released (`released`). Replaying records in order onto a
// checkpoint written at or after the first record's base gives the state after the last record (each record
// sets or deletes whole entries by key, so replaying a prefix again is harmless).
import { crc32 } from 'node:zlib';
import type { IpamKey } from '../store/index.js';
import { keyString } from '../store/types.js';
import {
  CHECKPOINT_VERSION,
  type CheckpointEntry,
  CheckpointFormatError,
  decodeEntry,
  encodeEntry,
  parseExact,
} from './format.js';

export const RECORD_HEADER = 12;

/** One framed record for segment `gen`. */
export function encodeRecord(gen: number, payload: string): Buffer {
  const len = Buffer.byteLength(payload);
  const out = Buffer.allocUnsafe(RECORD_HEADER + len);
  out.writeUInt32LE(len, 0);
  out.writeUInt32LE(gen, 4);
  out.write(payload, RECORD_HEADER, 'utf8');
  out.writeUInt32LE(crc32(out.subarray(RECORD_HEADER), crc32(out.subarray(4, 8))), 8);
  return out;
}

export interface Scan {
  /** Payloads of the valid records, in order. */
  records: string[];
  /** Byte offset just past the last valid record: where the next one goes. */
  end: number;
  /** Why the scan stopped before the end of the buffer with bytes that are not zeros (a torn or stale tail). */
  tail?: string;
}

/** The valid records of a segment of generation `gen`. */
export function scanSegment(buf: Buffer, gen: number): Scan {
  const records: string[] = [];
  let off = 0;
  const stop = (tail?: string): Scan => (tail ? { records, end: off, tail } : { records, end: off });
  while (off + RECORD_HEADER <= buf.length) {
    const len = buf.readUInt32LE(off);
    const g = buf.readUInt32LE(off + 4);
    if (len === 0 && g === 0) return stop();
    if (g !== gen) return stop(`a record of generation ${g} at byte ${off} (recycled segment)`);
    if (off + RECORD_HEADER + len > buf.length) return stop(`a record at byte ${off} runs past the end`);
    const payload = buf.subarray(off + RECORD_HEADER, off + RECORD_HEADER + len);
    if (crc32(payload, crc32(buf.subarray(off + 4, off + 8))) !== buf.readUInt32LE(off + 8))
      return stop(`checksum mismatch at byte ${off}`);
    records.push(payload.toString('utf8'));
    off += RECORD_HEADER + len;
  }
  return stop(off < buf.length ? `a partial header at byte ${off}` : undefined);
}

/** The payload of one group commit: entries already encoded by encodeEntry, and released keys. */
export function encodeBatch(put: readonly string[], released: readonly IpamKey[]): string {
  return `{"version":${JSON.stringify(CHECKPOINT_VERSION)},"allocations":[${put.join(',')}],"released":${JSON.stringify(
    released.map((k) => [k.networkName, k.containerID, k.ifName]),
  )}}`;
}

export function decodeBatch(payload: string): { put: CheckpointEntry[]; released: IpamKey[] } {
  const d = parseExact(payload) as { allocations?: unknown; released?: unknown };
  if (typeof d !== 'object' || d === null || !Array.isArray(d.allocations) || !Array.isArray(d.released))
    throw new CheckpointFormatError('journal record without allocations/released lists');
  const released = d.released.map((k: unknown, i: number) => {
    if (!Array.isArray(k) || k.length !== 3 || !k.every((s) => typeof s === 'string'))
      throw new CheckpointFormatError(
        `journal record: released key ${i} is not [network, container, ifName]`,
      );
    const [networkName, containerID, ifName] = k as [string, string, string];
    return { networkName, containerID, ifName };
  });
  return { put: d.allocations.map(decodeEntry), released };
}

/** Applies records (payloads, oldest first) to checkpoint entries; the result keeps first-seen order. */
export function replay(base: readonly CheckpointEntry[], records: Iterable<string>): CheckpointEntry[] {
  const state = new Map<string, CheckpointEntry>();
  for (const e of base) state.set(keyString(e.allocation.key), e);
  for (const r of records) {
    const { put, released } = decodeBatch(r);
    for (const e of put) state.set(keyString(e.allocation.key), e);
    for (const k of released) state.delete(keyString(k));
  }
  return [...state.values()];
}

/** What changed between the last record and now, computed against the journal's view (see Diff.next). */
export interface Batch {
  put: string[];
  released: IpamKey[];
}

interface Persisted {
  e: CheckpointEntry;
  line: string;
  /** The last batch whose snapshot held it; -1 once it left the view (released or replaced). */
  mark: number;
}

const same = (a: CheckpointEntry, b: CheckpointEntry): boolean =>
  a.quarantined === b.quarantined &&
  a.allocation.address === b.allocation.address &&
  a.allocation.family === b.allocation.family &&
  a.allocation.assignedAtNs === b.allocation.assignedAtNs &&
  a.allocation.metadata.k8sPodNamespace === b.allocation.metadata.k8sPodNamespace &&
  a.allocation.metadata.k8sPodName === b.allocation.metadata.k8sPodName &&
  a.allocation.metadata.interfacesCount === b.allocation.metadata.interfacesCount;

/**
 * The journal's view of the allocations: what the records written so far add up to. `next(snapshot)` returns
 * the batch that brings the view to the snapshot and adopts it; `lines()` is the view as checkpoint entries,
 * already encoded (what a compaction writes).
 */
export class Diff {
  private readonly view = new Map<string, Persisted>();
  /**
   * The view's entry for a snapshot entry object seen before. The datastore hands out the same object for an
   * allocation as long as it is unchanged (Datastore.allocations), so most of a snapshot is recognised without
   * building its key text or comparing fields. Snapshot entries are never modified.
   */
  private seen = new WeakMap<CheckpointEntry, Persisted>();
  private mark = 0;

  next(snapshot: readonly CheckpointEntry[]): Batch {
    const mark = ++this.mark;
    const put: string[] = [];
    for (const e of snapshot) {
      const known = this.seen.get(e);
      if (known !== undefined && known.mark >= 0) {
        known.mark = mark;
        continue;
      }
      const ks = keyString(e.allocation.key);
      const prev = this.view.get(ks);
      if (prev && same(prev.e, e)) {
        prev.mark = mark;
        continue;
      }
      if (prev) prev.mark = -1;
      const line = encodeEntry(e);
      const p = { e, line, mark };
      this.view.set(ks, p);
      this.seen.set(e, p);
      put.push(line);
    }
    const released: IpamKey[] = [];
    for (const [ks, p] of this.view)
      if (p.mark !== mark) {
        released.push(p.e.allocation.key);
        p.mark = -1;
        this.view.delete(ks);
      }
    return { put, released };
  }

  /** Adopts a snapshot without a batch (it was written whole, as a checkpoint). */
  reset(snapshot: readonly CheckpointEntry[]): void {
    this.view.clear();
    this.seen = new WeakMap();
    this.next(snapshot);
  }

  lines(): Iterable<string> {
    return [...this.view.values()].map((p) => p.line);
  }

  get size(): number {
    return this.view.size;
  }
}
