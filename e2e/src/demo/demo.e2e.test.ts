// The README's main command, end to end: containerd (CRI) → real aws-cni → real aws-k8s-agent, in a node netns.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

describe.skipIf(!existsSync(join(ROOT, 'dist/bin/aws-k8s-agent')))('demo', () => {
  it('11 pods over CRI on a simulated m5.large (EC2 mode): a second ENI attaches on demand, all pods reach each other and the outside via SNAT, teardown leaves nothing', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'main.ts'), '--pods', '11'],
      { encoding: 'utf8', cwd: ROOT, timeout: 120_000 },
    );
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^ {2}web-\d+ +10\.0\.\d+\.\d+ /.test(l));
    expect(rows).toHaveLength(11);
    // 9 addresses fit on the primary ENI (device 0); the rest came from an ENI ipamd created and attached.
    expect(rows.filter((l) => / \(0\) /.test(l))).toHaveLength(9);
    expect(rows.filter((l) => / \(1\) /.test(l))).toHaveLength(2);
    expect(r.stdout).toMatch(/^ {2}CreateNetworkInterface +[1-9]/m);
    expect(r.stdout).toMatch(/^ {2}AttachNetworkInterface +[1-9]/m);
    expect(r.stdout).not.toMatch(/FAIL/);
    const matrix = r.stdout.split('\n').filter((l) => /^ {2}web-\d+ +(-|ok)/.test(l));
    expect(matrix).toHaveLength(11);
    expect(matrix.every((l) => l.trimEnd().endsWith('ok'))).toBe(true);
    expect(r.stdout).toMatch(/host veths left: 0; addresses still assigned in ipamd: 0; pod routes left: 0/);
    expect(r.stdout).toMatch(/^OK in /m);
  });
});
