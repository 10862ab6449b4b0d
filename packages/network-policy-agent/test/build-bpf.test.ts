// The eBPF build step fails clearly when clang is missing (and builds nothing).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('names clang and the remedy when clang is missing', () => {
  const out = mkdtempSync('/tmp/npa-bpf-out-');
  try {
    const r = spawnSync(
      process.execPath,
      [join(dirname(fileURLToPath(import.meta.url)), '../scripts/build-bpf.mjs')],
      {
        env: { ...process.env, CLANG: '/nonexistent/clang', NPA_BPF_OUT: join(out, 'bpf') },
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("'/nonexistent/clang' not found");
    expect(r.stderr).toContain('scripts/apt/bpf.txt');
    expect(existsSync(join(out, 'bpf'))).toBe(false);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
