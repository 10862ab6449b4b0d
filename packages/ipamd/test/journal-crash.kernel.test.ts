// The journal under kill -9 (docs/architecture.md#checkpoint-file): a child process runs the real Checkpoint
// with 16 concurrent writers, compacting every few milliseconds on 16 KiB segments (so rotation, compaction and
// segment recycling are all under way), and is killed with SIGKILL at a random moment, 25 times. Every other
// round a torn record is also left at the end of the journal (what a crash in the middle of a write leaves).
// After each kill the state load() returns holds every acknowledged change: per key, the last acknowledged value
// or the one issued after it; the checkpoint file alone is always a complete, valid file.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { Checkpoint, decodeCheckpoint, scanSegment } from '../src/persistence/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const ROUNDS = 25;
const dir = mkdtempSync(join(tmpdir(), 'vct-journal-crash-'));
const path = join(dir, 'ipam.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Child {
  lines: () => string[];
  exited: Promise<NodeJS.Signals | null>;
  ready: Promise<void>;
  kill: () => void;
}

function start(counter: number, round: number): Child {
  const log = join(dir, `writer-${round}.log`);
  const p = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'packages/ipamd/test/fixtures/journal-writer.ts'),
      path,
      String(counter),
      log,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  p.stdout.setEncoding('utf8').on('data', (d: string) => {
    if (d.includes('R')) onReady();
  });
  const exited = new Promise<NodeJS.Signals | null>((r) => p.once('close', (_code, signal) => r(signal)));
  return {
    // Complete lines only: the kill may cut the last one.
    lines: () => readFileSync(log, 'utf8').split('\n').slice(0, -1),
    exited,
    ready,
    kill: () => p.kill('SIGKILL'),
  };
}

/** A torn record after the last whole one of the newest segment that has records. */
function tearTail(): boolean {
  const segs = readdirSync(dir)
    .filter((f) => /^ipam\.json\.journal\.\d+$/.test(f))
    .map((f) => ({ f, gen: Number(f.split('.').pop()) }))
    .sort((a, b) => b.gen - a.gen);
  for (const s of segs) {
    const p = join(dir, s.f);
    const scan = scanSegment(readFileSync(p), s.gen);
    if (scan.end === 0) continue;
    const junk = Buffer.alloc(40, 0x5a);
    junk.writeUInt32LE(300, 0); // a length, then the generation: a record header whose body never made it
    junk.writeUInt32LE(s.gen, 4);
    const fd = openSync(p, 'r+');
    writeSync(fd, junk, 0, junk.length, scan.end);
    closeSync(fd);
    return true;
  }
  return false;
}

describe('checkpoint journal crash safety (SIGKILL at random moments)', () => {
  it(`keeps every acknowledged change across ${ROUNDS} kills, torn tails ignored`, async () => {
    /** Per key: the acknowledged value ('-' = absent) and the value issued after it, if any. */
    const truth = new Map<string, { acked: string; pending?: string }>();
    let counter = 0;
    let acks = 0;
    let torn = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const c = start(counter + 1_000_000 * (round + 1), round);
      await c.ready;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
      c.kill();
      expect(await c.exited, 'the writer was running until the kill').toBe('SIGKILL');
      const lines = c.lines();
      for (const l of lines) {
        const [kind, key, value] = l.split(' ') as [string, string, string];
        const t = truth.get(key) ?? { acked: '-' };
        if (kind === 'I') t.pending = value;
        else {
          t.acked = value;
          delete t.pending;
          acks++;
        }
        truth.set(key, t);
      }
      counter += lines.length;
      if (round % 2 === 1 && tearTail()) torn++;
      // What a reader of the compatible file sees: a whole, valid checkpoint.
      expect(() => decodeCheckpoint(readFileSync(path, 'utf8'))).not.toThrow();
      const r = await new Checkpoint(path, () => [], silentLogger).load();
      expect(r.kind).toBe('loaded');
      const got = new Map(
        (r.kind === 'loaded' ? r.entries : []).map((e) => [
          e.allocation.key.containerID,
          e.allocation.address,
        ]),
      );
      for (const [key, t] of truth) {
        const v = got.get(key) ?? '-';
        const ok = v === t.acked || (t.pending !== undefined && v === t.pending);
        expect(ok, `${key}: found ${v}, acknowledged ${t.acked}, in flight ${t.pending ?? 'none'}`).toBe(
          true,
        );
        // Settle what was in flight to what survived: the next round checks it exactly.
        truth.set(key, { acked: v });
      }
      for (const key of got.keys()) expect(truth.has(key), `unknown key ${key}`).toBe(true);
    }
    expect(acks, 'acknowledged changes').toBeGreaterThan(ROUNDS * 16);
    expect(torn).toBeGreaterThan(0);
  });
});
