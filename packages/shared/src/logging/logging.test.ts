import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'vct-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createLogger', () => {
  it('writes upstream-shaped JSON lines to a file, creating its directory, honouring the level', () => {
    const file = join(dir, 'nested', 'ipamd.log');
    const log = createLogger({ level: 'INFO', file, name: 'ipamd', sync: true });
    log.debug('hidden');
    log.info({ eni: 'eni-1' }, 'attached');
    log.child({ pod: 'web' }).warn('slow');
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', logger: 'ipamd', eni: 'eni-1', msg: 'attached' });
    expect(new Date(lines[0].ts).toISOString()).toBe(lines[0].ts);
    expect(lines[1]).toMatchObject({ level: 'warn', pod: 'web', msg: 'slow' });
  });

  it('appends to an existing file', () => {
    const file = join(dir, 'append.log');
    createLogger({ level: 'debug', file, sync: true }).info('one');
    createLogger({ level: 'debug', file, sync: true }).info('two');
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  });
});
