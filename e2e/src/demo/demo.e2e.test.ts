// The README's main command, end to end: containerd (CRI) → real aws-cni → real aws-k8s-agent, in a node netns.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

describe.skipIf(!existsSync(join(ROOT, 'dist/bin/aws-k8s-agent')))('demo', () => {
  it('containerd creates 11 pods over CRI across two ENIs (on-demand growth); all reach each other and the outside via SNAT; teardown leaves nothing', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'main.ts'), '--pods', '11'],
      {
        encoding: 'utf8',
        cwd: ROOT,
        timeout: 120_000,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /^ {2}web-\d+ +10\.0\.\d+\.\d+ /.test(l));
    expect(rows).toHaveLength(11);
    expect(rows.filter((l) => l.includes('eni-0second (1)'))).toHaveLength(2); // 9 fit on the primary ENI
    expect(r.stdout).not.toMatch(/FAIL/);
    // ipamd set up SNAT in the node; every pod reached the outside namespace that knows only the node address.
    expect(r.stdout).toMatch(
      /host networking by ipamd: 2 rules in AWS-SNAT-CHAIN-0, .*--to-source 10\.0\.0\.5 --random-fully/,
    );
    const matrix = r.stdout.split('\n').filter((l) => /^ {2}web-\d+ +(-|ok)/.test(l));
    expect(matrix).toHaveLength(11);
    expect(matrix.every((l) => l.trimEnd().endsWith('ok'))).toBe(true);
    expect(r.stdout).toMatch(/host veths left: 0; addresses still assigned in ipamd: 0; pod routes left: 0/);
    expect(r.stdout).toMatch(/^OK in /m);
  });
});
