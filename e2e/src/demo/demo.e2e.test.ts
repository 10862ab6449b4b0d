// The README's main command, end to end: containerd (CRI) → real aws-cni → real aws-k8s-agent, in a node netns.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

describe.skipIf(!existsSync(join(ROOT, 'dist/bin/aws-k8s-agent')))('demo', () => {
  it('--network-policy (the Stars demo, netpol-demo.ts) refuses the options it does not combine with, before starting anything', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'main.ts'), '--network-policy', '--prefix-delegation'],
      { encoding: 'utf8', cwd: ROOT, timeout: 60_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--network-policy runs on its own');
  });
  it('defaults: 20 pods over CRI on two simulated m5.large nodes (EC2 mode, VPC fabric); each node attaches a second ENI, all pods reach each other across nodes and the outside via SNAT, teardown leaves nothing', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'main.ts')], {
      encoding: 'utf8',
      cwd: ROOT,
      timeout: 150_000,
    });
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^ {2}web-\d+ +node-[ab] +10\.0\.\d+\.\d+ /.test(l));
    expect(rows).toHaveLength(20);
    for (const node of ['node-a', 'node-b']) {
      const mine = rows.filter((l) => l.includes(` ${node} `));
      expect(mine).toHaveLength(10);
      // 9 addresses fit on each node's primary ENI (device 0); the 10th comes from the ENI its ipamd attached.
      expect(mine.filter((l) => / \(0\) /.test(l))).toHaveLength(9);
      expect(mine.filter((l) => / \(1\) /.test(l))).toHaveLength(1);
    }
    expect(r.stdout).toMatch(/^ {2}CreateNetworkInterface +[1-9]/m);
    expect(r.stdout).toMatch(/^ {2}AttachNetworkInterface +[1-9]/m);
    expect(r.stdout).not.toMatch(/FAIL/);
    const matrix = r.stdout.split('\n').filter((l) => /^ {2}web-\d+ +(-|ok)/.test(l));
    expect(matrix).toHaveLength(20);
    expect(matrix.every((l) => l.trimEnd().endsWith('ok'))).toBe(true);
    expect(
      r.stdout.match(/host veths left: 0; addresses still assigned in ipamd: 0; pod routes left: 0/g),
    ).toHaveLength(2);
    expect(r.stdout).toMatch(/^OK in /m);
  });
});
