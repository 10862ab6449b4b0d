import fc from 'fast-check';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { Checkpoint, type CheckpointEntry, decodeCheckpoint, encodeCheckpoint } from './index.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'vct-ckpt-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const entry = (c: string, address: string, ns = 1763856000123456789n): CheckpointEntry => ({
  quarantined: false,
  allocation: {
    key: { networkName: 'aws-cni', containerID: c, ifName: 'eth0' },
    address,
    family: address.includes(':') ? 6 : 4,
    metadata: { k8sPodNamespace: 'default', k8sPodName: `pod-${c}`, interfacesCount: 1 },
    assignedAtNs: ns,
  },
});

describe('checkpoint format (upstream vpc-cni-ipam/1)', () => {
  it('reads a checkpoint written by upstream aws-node, nanosecond timestamps exact', () => {
    const text = readFileSync(new URL('./fixtures/upstream-ipam.json', import.meta.url), 'utf8');
    const got = decodeCheckpoint(text);
    expect(got).toHaveLength(3);
    expect(got[0]?.allocation).toMatchObject({
      key: { networkName: 'aws-cni', ifName: 'eth0' },
      address: '10.0.1.23',
      family: 4,
      assignedAtNs: 1763856000123456789n,
      metadata: { k8sPodNamespace: 'default', k8sPodName: 'web-1', interfacesCount: 1 },
    });
    expect(got[1]?.allocation.metadata.interfacesCount).toBe(0);
    expect(got[2]?.allocation.key).toEqual({
      networkName: '_migrated-from-cri',
      containerID: 'legacy1',
      ifName: 'unknown',
    });
  });

  it('writes upstream field order, compact, omitting empty metadata fields', () => {
    const e = entry('c1', '10.0.1.23');
    e.allocation.metadata.interfacesCount = 0;
    expect(encodeCheckpoint([e])).toBe(
      '{"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni","containerID":"c1","ifName":"eth0",' +
        '"ipv4":"10.0.1.23","allocationTimestamp":1763856000123456789,' +
        '"metadata":{"k8sPodNamespace":"default","k8sPodName":"pod-c1"}}]}\n',
    );
    expect(encodeCheckpoint([])).toBe('{"version":"vpc-cni-ipam/1","allocations":[]}\n');
  });

  it('round-trips any allocation list, v4 and v6, quarantine flag included', () => {
    const arb = fc.record({
      c: fc.string({ minLength: 1, maxLength: 20 }),
      v6: fc.boolean(),
      ip4: fc.ipV4(),
      ns: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
      q: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 10 }), (xs) => {
        const entries = xs.map((x) => ({
          ...entry(x.c, x.v6 ? '2600:1f14::5' : x.ip4, x.ns),
          quarantined: x.q,
        }));
        expect(decodeCheckpoint(encodeCheckpoint(entries))).toEqual(entries);
      }),
    );
  });

  it('rejects other versions and malformed entries with the reason', () => {
    expect(() => decodeCheckpoint('{"version":"vpc-cni-ipam/2","allocations":[]}')).toThrow(
      /vpc-cni-ipam\/2/,
    );
    expect(() =>
      decodeCheckpoint('{"version":"vpc-cni-ipam/1","allocations":[{"ipv4":"1.2.3.4","ipv6":"::1"}]}'),
    ).toThrow(/exactly one of ipv4\/ipv6/);
    expect(() => decodeCheckpoint('{"version":"vpc-cni-ipam/1","alloc')).toThrow(/not JSON/);
  });
});

describe('checkpoint file', () => {
  it('a missing file is a fresh node', async () => {
    const c = new Checkpoint(join(tmp(), 'ipam.json'), () => [], silentLogger);
    expect(await c.load()).toEqual({ kind: 'missing' });
  });

  it('persists atomically and loads back; no temp files left', async () => {
    const dir = tmp();
    const state = [entry('c1', '10.0.1.23')];
    const c = new Checkpoint(join(dir, 'ipam.json'), () => state, silentLogger);
    await c.persist();
    expect(readdirSync(dir).filter((f) => !/^ipam\.json\.journal\.\d+$/.test(f))).toEqual(['ipam.json']);
    expect(await c.load()).toEqual({ kind: 'loaded', entries: state });
    await c.close();
    expect(decodeCheckpoint(readFileSync(join(dir, 'ipam.json'), 'utf8'))).toEqual(state);
  });

  it('a truncated file is moved aside and reported as corrupt', async () => {
    const dir = tmp();
    const path = join(dir, 'ipam.json');
    writeFileSync(path, encodeCheckpoint([entry('c1', '10.0.1.23')]).slice(0, 60));
    const r = await new Checkpoint(path, () => [], silentLogger).load();
    expect(r.kind).toBe('corrupt');
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^ipam\.json\.corrupt-/)]);
  });

  it('group commit: 100 changes made in one turn share one write, each resolved after it is on disk', async () => {
    const dir = tmp();
    const state: CheckpointEntry[] = [];
    const c = new Checkpoint(join(dir, 'ipam.json'), () => [...state], silentLogger);
    const done = Array.from({ length: 100 }, (_, i) => {
      state.push(entry(`c${i}`, `10.0.${Math.floor(i / 200)}.${i}`));
      const n = state.length;
      return c.persist().then(async () => {
        const r = await c.load();
        // Everything this caller added is on disk when its promise resolves.
        expect(r.kind === 'loaded' && r.entries.length >= n).toBe(true);
      });
    });
    await Promise.all(done);
    expect(c.writes).toBe(1);
  });

  it('a failed write rejects the waiting callers', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), 'x');
    const c = new Checkpoint(join(dir, 'file', 'ipam.json'), () => [], silentLogger); // parent is a file
    await expect(c.persist()).rejects.toThrow(/EEXIST|ENOTDIR/);
  });
});

describe('checkpoint journal (group commit, compaction)', () => {
  const journalFiles = (dir: string) => readdirSync(dir).filter((f) => /^ipam\.json\.journal\.\d+$/.test(f));

  it('after the start-up write, changes are appended to the journal; load() replays them onto the file', async () => {
    const dir = tmp();
    const path = join(dir, 'ipam.json');
    const state = [entry('c1', '10.0.1.1')];
    const c = new Checkpoint(path, () => [...state], silentLogger, { compactEveryMs: 60_000 });
    await c.persist(); // start-up: the whole file
    const first = readFileSync(path, 'utf8');
    state.push(entry('c2', '10.0.1.2'));
    state.shift();
    await c.persist();
    expect(readFileSync(path, 'utf8')).toBe(first); // not rewritten per change
    expect(c.writes).toBe(2);
    expect(journalFiles(dir).length).toBeGreaterThanOrEqual(1);
    expect(await new Checkpoint(path, () => [], silentLogger).load()).toEqual({
      kind: 'loaded',
      entries: state,
    });
    await c.close();
    expect(decodeCheckpoint(readFileSync(path, 'utf8'))).toEqual(state);
  });

  it('compaction keeps the checkpoint file within the interval of the state, and recycles segments', async () => {
    const dir = tmp();
    const path = join(dir, 'ipam.json');
    const state: CheckpointEntry[] = [];
    const c = new Checkpoint(path, () => [...state], silentLogger, {
      compactEveryMs: 30,
      compactIdleMs: 30,
      segmentBytes: 8192,
    });
    await c.persist();
    for (let i = 0; i < 200; i++) {
      state.push(entry(`c${i}`, `10.0.${i >> 8}.${i & 255}`));
      if (state.length > 20) state.shift();
      await c.persist();
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    // Idle: the file catches up without another change.
    for (let t = 0; t < 100 && decodeCheckpoint(readFileSync(path, 'utf8')).length !== 20; t++)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    expect(decodeCheckpoint(readFileSync(path, 'utf8'))).toEqual(state);
    expect(c.compactions).toBeGreaterThan(1);
    expect(journalFiles(dir).length).toBeLessThanOrEqual(3); // current, spare, at most one being retired
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    await c.close();
  });

  it('under steady changes the file is not rewritten before the interval; once idle it catches up', async () => {
    const dir = tmp();
    const path = join(dir, 'ipam.json');
    const state: CheckpointEntry[] = [];
    const c = new Checkpoint(path, () => [...state], silentLogger, {
      compactEveryMs: 60_000,
      compactIdleMs: 300,
    });
    await c.persist();
    // 40 changes, each durable before the next (records, no compaction: no interval passed, segment nearly empty).
    for (let i = 0; i < 40; i++) {
      state.push(entry(`s${i}`, `10.0.2.${i}`));
      await c.persist();
    }
    const during = c.compactions;
    expect(decodeCheckpoint(readFileSync(path, 'utf8'))).toEqual([]); // the start-up file; the journal has the rest
    for (let t = 0; t < 200 && c.compactions === during; t++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    expect(decodeCheckpoint(readFileSync(path, 'utf8'))).toEqual(state);
    expect(c.compactions).toBe(during + 1);
    await c.close();
  });

  it('a compaction due by the interval starts when no change is waiting, not before a record', async () => {
    const dir = tmp();
    const path = join(dir, 'ipam.json');
    const state: CheckpointEntry[] = [];
    // The idle timer never fires within the test; before a record a compaction is forced only after 2 s.
    const c = new Checkpoint(path, () => [...state], silentLogger, {
      compactEveryMs: 1_000,
      compactIdleMs: 60_000,
    });
    await c.persist();
    await new Promise((r) => setTimeout(r, 1_100)); // the interval has passed; no record yet
    state.push(entry('d1', '10.0.3.1'));
    await c.persist(); // the record, then (nothing else waiting) the compaction, which covers it
    for (let t = 0; t < 100 && c.compactions === 0; t++) await new Promise((r) => setTimeout(r, 20));
    expect(c.compactions).toBe(1);
    expect(decodeCheckpoint(readFileSync(path, 'utf8'))).toEqual(state);
    await c.close();
  });

  it('changes made while a write is in flight share the next single write', async () => {
    const dir = tmp();
    const state: CheckpointEntry[] = [];
    const c = new Checkpoint(join(dir, 'ipam.json'), () => [...state], silentLogger);
    await c.persist();
    const before = c.writes;
    // 60 changes over 60 turns of the event loop, while records are being written.
    const done: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      state.push(entry(`c${i}`, `10.0.1.${i}`));
      const n = state.length;
      done.push(
        c.persist().then(async () => {
          const r = await new Checkpoint(join(dir, 'ipam.json'), () => [], silentLogger).load();
          expect(r.kind === 'loaded' && r.entries.length >= n).toBe(true);
        }),
      );
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(done);
    expect(c.writes - before).toBeLessThan(60);
    expect(c.writes - before).toBeGreaterThanOrEqual(1);
    await c.close();
  });
});

describe('checkpoint journal and other writers of the file', () => {
  it('the file names the journal generation that continues it; a file without the name (upstream rewrote it after a swap) is not combined with stale segments', async () => {
    const dir = tmp();
    const path = join(dir, 'ipam.json');
    const state = [entry('c1', '10.0.1.1')];
    const c = new Checkpoint(path, () => [...state], silentLogger, { compactEveryMs: 60_000 });
    await c.persist();
    expect(readFileSync(path, 'utf8')).toMatch(/"journalFrom":\d+\}\n$/);
    state.push(entry('c2', '10.0.1.2'));
    await c.persist(); // in the journal only; then the process dies (no close)
    expect(await new Checkpoint(path, () => [], silentLogger).load()).toEqual({
      kind: 'loaded',
      entries: state,
    });
    // Upstream aws-node takes over, releases c1 and rewrites the file in its own form (no journalFrom).
    const upstream = [entry('c3', '10.0.1.3')];
    writeFileSync(path, encodeCheckpoint(upstream));
    const back = new Checkpoint(path, () => [], silentLogger);
    expect(await back.load()).toEqual({ kind: 'loaded', entries: upstream });
  });
});
