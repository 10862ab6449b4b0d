import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { rotateOnce } from './log-rotate.js';

const dir = mkdtempSync(join(tmpdir(), 'npa-rotate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('--log-file-max-size / --log-file-max-backups: rotates past the size, keeps that many backups', () => {
  const f = join(dir, 'agent.log');
  for (const n of ['one', 'two', 'three']) {
    writeFileSync(f, n.repeat(100));
    expect(rotateOnce(f, 100, 2)).toBe(true);
  }
  writeFileSync(f, 'small');
  expect(rotateOnce(f, 100, 2)).toBe(false);
  expect(readFileSync(`${f}.1`, 'utf8')).toBe('three'.repeat(100));
  expect(readFileSync(`${f}.2`, 'utf8')).toBe('two'.repeat(100));
  expect(existsSync(`${f}.3`)).toBe(false);
});
