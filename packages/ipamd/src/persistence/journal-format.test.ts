import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CheckpointEntry } from './format.js';
import { Diff, decodeBatch, encodeBatch, encodeRecord, replay, scanSegment } from './journal-format.js';

const entry = (
  c: string,
  address: string,
  ns = 1763856000123456789n,
  quarantined = false,
): CheckpointEntry => ({
  quarantined,
  allocation: {
    key: { networkName: 'aws-cni', containerID: c, ifName: 'eth0' },
    address,
    family: 4,
    metadata: { k8sPodNamespace: 'default', k8sPodName: `pod-${c}`, interfacesCount: 1 },
    assignedAtNs: ns,
  },
});

const segment = (gen: number, payloads: string[], size = 4096): Buffer => {
  const buf = Buffer.alloc(size);
  let off = 0;
  for (const p of payloads) off += encodeRecord(gen, p).copy(buf, off);
  return buf;
};

describe('journal records', () => {
  it('reads back every record of a segment and stops at the zeros after the last', () => {
    const buf = segment(7, ['{"a":1}', 'zwei', 'três ✓']);
    const scan = scanSegment(buf, 7);
    expect(scan.records).toEqual(['{"a":1}', 'zwei', 'três ✓']);
    expect(scan.tail).toBeUndefined();
    expect(scan.end).toBe(3 * 12 + Buffer.byteLength('{"a":1}zweitrês ✓'));
  });

  it('a write cut short at any byte loses only that record: the ones before it are all read', () => {
    const payloads = ['first record', 'second, longer record', 'third'];
    const whole = segment(3, payloads, 200);
    const ends = [0, 1, 2, 3].map((n) => payloads.slice(0, n).reduce((s, p) => s + 12 + p.length, 0));
    for (let cut = 0; cut <= (ends[3] as number); cut++) {
      // The torn record's bytes end where the crash cut them; the rest of the preallocated file is zeros.
      const torn = Buffer.alloc(200);
      whole.copy(torn, 0, 0, cut);
      const whole_ = ends.filter((e) => e <= cut).length - 1;
      const scan = scanSegment(torn, 3);
      expect(scan.records).toEqual(payloads.slice(0, whole_));
      expect(scan.end).toBe(ends[whole_]);
    }
  });

  it('a flipped bit in a record ends the scan there (checksum), reported as the tail', () => {
    const buf = segment(1, ['one', 'two', 'three']);
    buf.writeUInt8(buf.readUInt8(28) ^ 0x10, 28); // inside "two"
    const scan = scanSegment(buf, 1);
    expect(scan.records).toEqual(['one']);
    expect(scan.tail).toMatch(/checksum mismatch at byte 15/);
  });

  it('a recycled segment: records of its previous generation after the new ones are not read', () => {
    const old = segment(4, ['old-1', 'old-2', 'old-3', 'old-4']);
    encodeRecord(9, 'new-1').copy(old, 0); // same length as old-1: the next header is an old record's
    const scan = scanSegment(old, 9);
    expect(scan.records).toEqual(['new-1']);
    expect(scan.tail).toMatch(/generation 4/);
    // And a new record over an old one of another length leaves garbage that the checksum rejects.
    const other = segment(4, ['a much longer old record', 'old-2']);
    encodeRecord(9, 'short').copy(other, 0);
    expect(scanSegment(other, 9).records).toEqual(['short']);
  });

  it('never throws on arbitrary bytes, and never returns a record that was not written', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const scan = scanSegment(Buffer.from(bytes), 0);
        expect(scan.end).toBeLessThanOrEqual(bytes.length);
      }),
    );
  });

  it('a batch payload round-trips puts (nanosecond timestamps exact) and released keys', () => {
    const d = new Diff();
    const b = d.next([entry('c1', '10.0.0.1'), entry('c2', '10.0.0.2', 5n, true)]);
    const got = decodeBatch(encodeBatch(b.put, [{ networkName: 'n', containerID: 'x"y', ifName: 'eth0' }]));
    expect(got.put).toEqual([entry('c1', '10.0.0.1'), entry('c2', '10.0.0.2', 5n, true)]);
    expect(got.released).toEqual([{ networkName: 'n', containerID: 'x"y', ifName: 'eth0' }]);
    expect(() => decodeBatch('{"allocations":[]}')).toThrow(/released/);
  });
});

describe('journal diff and replay', () => {
  it('each batch holds only what changed since the last', () => {
    const d = new Diff();
    expect(d.next([entry('a', '10.0.0.1'), entry('b', '10.0.0.2')]).put).toHaveLength(2);
    const same = d.next([entry('a', '10.0.0.1'), entry('b', '10.0.0.2')]);
    expect(same).toEqual({ put: [], released: [] });
    const b = d.next([entry('b', '10.0.0.2', 1n, true), entry('c', '10.0.0.3')]);
    expect(b.put.map((l) => JSON.parse(l.replace(/:(\d{16,})/g, ':0')).containerID)).toEqual(['b', 'c']);
    expect(b.released).toEqual([{ networkName: 'aws-cni', containerID: 'a', ifName: 'eth0' }]);
    expect(d.size).toBe(2);
  });

  it('an entry object seen before counts as unchanged; a new object for its key is compared, and written if changed', () => {
    const d = new Diff();
    const a = entry('a', '10.0.0.1');
    const b = entry('b', '10.0.0.2');
    expect(d.next([a, b]).put).toHaveLength(2);
    expect(d.next([a, b])).toEqual({ put: [], released: [] });
    // The same key, a new object with other content (re-assigned): written, and the old object no longer counts.
    const a2 = entry('a', '10.0.0.9');
    expect(d.next([a2, b]).put.map((l) => JSON.parse(l.replace(/:(\d{16,})/g, ':0')).ipv4)).toEqual([
      '10.0.0.9',
    ]);
    expect(d.next([a, b]).put.map((l) => JSON.parse(l.replace(/:(\d{16,})/g, ':0')).ipv4)).toEqual([
      '10.0.0.1',
    ]);
    // Released, then the same object again: written again.
    expect(d.next([b]).released).toEqual([a.allocation.key]);
    expect(d.next([a, b]).put).toHaveLength(1);
    // After a reset the view is the reset's snapshot only.
    d.reset([b]);
    expect(d.next([a, b]).put).toHaveLength(1);
    expect(d.size).toBe(2);
  });

  const op = fc.record({
    key: fc.integer({ min: 0, max: 7 }),
    del: fc.boolean(),
    ip: fc.integer({ min: 1, max: 250 }),
  });

  it('replaying the records onto the base gives the last state, also when an earlier prefix is replayed again', () => {
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 6 }), { maxLength: 12 }), fc.nat(), (batches, cut) => {
        const state = new Map<string, CheckpointEntry>();
        const d = new Diff();
        const records: string[] = [];
        const snapshots: CheckpointEntry[][] = [];
        for (const ops of batches) {
          for (const o of ops)
            if (o.del) state.delete(`k${o.key}`);
            else state.set(`k${o.key}`, entry(`k${o.key}`, `10.0.0.${o.ip}`, BigInt(o.ip)));
          snapshots.push([...state.values()]);
          const b = d.next([...state.values()]);
          records.push(encodeBatch(b.put, b.released));
        }
        const sort = (xs: CheckpointEntry[]) =>
          [...xs].sort((a, b) => a.allocation.key.containerID.localeCompare(b.allocation.key.containerID));
        expect(sort(replay([], records))).toEqual(sort([...state.values()]));
        // A checkpoint written after record i, replayed with records from j <= i on: the same end state.
        if (records.length > 0) {
          const i = cut % records.length;
          const j = (cut >> 3) % (i + 1);
          expect(sort(replay(snapshots[i] ?? [], records.slice(j)))).toEqual(sort([...state.values()]));
        }
      }),
    );
  });
});
