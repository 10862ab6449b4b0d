// Failures of the datapath: each a typed DatapathError naming the cause, and nothing half-applied.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodState } from './contract.js';
import { EbpfDatapath, defaultObjectDir } from './datapath.js';
import { DatapathError } from './errors.js';
import { createWorld, type World } from '../../test/world.js';

function caught(fn: () => unknown): DatapathError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DatapathError) return e;
    throw e;
  }
  throw new Error('expected a DatapathError');
}

describe('datapath errors (kernel)', () => {
  let w: World;
  let tmp: string;
  beforeAll(async () => {
    w = await createWorld('err');
    tmp = mkdtempSync('/tmp/npa-err-');
  });
  afterAll(() => {
    w?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('bpffs not mounted: BPFFS_NOT_MOUNTED naming the path; nothing created', () => {
    const root = join(tmp, 'globals/aws');
    const e = caught(() => new EbpfDatapath({ family: 'ipv4', pinRoot: root }));
    expect(e.code).toBe('BPFFS_NOT_MOUNTED');
    expect(e.message).toContain(root);
    expect(e.message).toMatch(/mount -t bpf/);
    expect(existsSync(join(tmp, 'globals'))).toBe(false);
  });

  it('object file missing: OBJECT_MISSING naming the file; no pins', () => {
    const e = caught(() => new EbpfDatapath({ family: 'ipv4', pinRoot: w.pinRoot, objectDir: tmp }));
    expect(e.code).toBe('OBJECT_MISSING');
    expect(e.message).toContain(join(tmp, 'tc.v4ingress.bpf.o'));
    expect(e.message).toMatch(/pnpm build/);
    expect(existsSync(w.pinRoot)).toBe(false);
  });

  it('veth missing: VETH_MISSING naming it; nothing loaded, pinned or attached', () => {
    const dp = new EbpfDatapath({ family: 'ipv4', pinRoot: w.pinRoot, netns: `/var/run/netns/${w.node}` });
    try {
      const e = caught(() =>
        dp.attach('ghost@ns', [w.veth, 'eninothere01'], {
          np: PodState.DefaultDeny,
          cp: PodState.DefaultAllow,
        }),
      );
      expect(e.code).toBe('VETH_MISSING');
      expect(e.message).toContain('eninothere01');
      expect(readdirSync(join(w.pinRoot, 'programs'))).toEqual([]);
      expect(readdirSync(join(w.pinRoot, 'maps')).filter((m) => !m.startsWith('global_'))).toEqual([]);
      expect(dp.listKeys()).toEqual([]);
      for (const hook of ['ingress', 'egress'])
        expect(
          execFileSync('tc', ['-n', w.node, 'filter', 'show', 'dev', w.veth, hook], { encoding: 'utf8' }),
        ).toBe('');
    } finally {
      dp.close();
    }
  });

  it('a program the verifier refuses: LOAD_FAILED with the verifier log; no pins, no filters', () => {
    const dir = mkdtempSync('/tmp/npa-badobj-');
    try {
      const pkg = join(dirname(fileURLToPath(import.meta.url)), '../..');
      execFileSync('clang', [
        '-O2',
        '-g',
        '-target',
        'bpf',
        '-DNPA_V6=0',
        '-I/usr/include/x86_64-linux-gnu',
        '-I',
        join(pkg, 'bpf'),
        '-c',
        join(pkg, 'test/bad-ingress.bpf.c'),
        '-o',
        join(dir, 'tc.v4ingress.bpf.o'),
      ]);
      for (const f of ['tc.v4egress.bpf.o', 'v4events.bpf.o'])
        copyFileSync(join(defaultObjectDir(), f), join(dir, f));
      const dp = new EbpfDatapath({
        family: 'ipv4',
        pinRoot: w.pinRoot,
        netns: `/var/run/netns/${w.node}`,
        objectDir: dir,
      });
      try {
        const e = caught(() =>
          dp.attach('bad@ns', [w.veth], { np: PodState.DefaultDeny, cp: PodState.DefaultAllow }),
        );
        expect(e.code).toBe('LOAD_FAILED');
        expect(e.message).toContain('tc.v4ingress.bpf.o');
        expect(e.libbpfLog.join('\n')).toMatch(
          /invalid access to packet|R\d+ invalid mem access|permission denied/i,
        );
        expect(readdirSync(join(w.pinRoot, 'programs'))).toEqual([]);
        expect(readdirSync(join(w.pinRoot, 'maps')).filter((m) => m.startsWith('bad@ns'))).toEqual([]);
        expect(
          execFileSync('tc', ['-n', w.node, 'filter', 'show', 'dev', w.veth, 'egress'], { encoding: 'utf8' }),
        ).toBe('');
      } finally {
        dp.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad keys and unknown keys are refused with their reason', () => {
    const dp = new EbpfDatapath({ family: 'ipv4', pinRoot: w.pinRoot, netns: `/var/run/netns/${w.node}` });
    try {
      expect(caught(() => dp.attach('my app@ns', [w.veth], { np: 1, cp: 1 })).code).toBe('BAD_INPUT');
      expect(caught(() => dp.attach('global_x', [w.veth], { np: 1, cp: 1 })).code).toBe('BAD_INPUT');
      const e = caught(() => dp.writePolicy('nobody@ns', 'ingress', new Map()));
      expect(e.code).toBe('UNKNOWN_KEY');
      expect(e.message).toContain('nobody@ns');
    } finally {
      dp.close();
    }
  });

  it('keys with dots are pinned with ~ (bpffs refuses dots) and listed with their dots', () => {
    const dp = new EbpfDatapath({ family: 'ipv4', pinRoot: w.pinRoot, netns: `/var/run/netns/${w.node}` });
    try {
      dp.attach('my.app@ns', [w.veth], { np: PodState.DefaultAllow, cp: PodState.DefaultAllow });
      expect(existsSync(join(w.pinRoot, 'programs/my~app@ns_handle_ingress'))).toBe(true);
      expect(dp.listKeys().map((k) => [k.key, k.attached.map((a) => a.ifname)])).toEqual([
        ['my.app@ns', [w.veth]],
      ]);
      expect(dp.getState('my.app@ns', 'egress', 'np')).toBe(PodState.DefaultAllow);
      dp.remove('my.app@ns');
      expect(readdirSync(join(w.pinRoot, 'programs'))).toEqual([]);
      expect(readdirSync(join(w.pinRoot, 'maps')).filter((m) => !m.startsWith('global_'))).toEqual([]);
    } finally {
      dp.close();
    }
  });
});
