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
