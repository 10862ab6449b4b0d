import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, serializeError, type SerializedError } from './index.js';

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

describe('errors in log lines', () => {
  it('err carries the stack, the errno code and the cause, as pino serializes errors', async () => {
    const file = join(dir, 'err.log');
    const log = createLogger({ level: 'debug', file, sync: true });
    const { readFile } = await import('node:fs/promises');
    const enoent = await readFile(join(dir, 'missing')).catch((e: unknown) => e);
    log.error({ err: new Error('checkpoint unreadable', { cause: enoent }) }, 'start-up failed');
    const line = JSON.parse(readFileSync(file, 'utf8').trim()) as { err: SerializedError };
    expect(line.err).toMatchObject({ type: 'Error', message: 'checkpoint unreadable' });
    expect(line.err.stack).toContain('logging.test.ts');
    expect(line.err.cause).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open' });
    expect(line.err.cause?.stack).toContain('ENOENT');
  });

  it('an AWS SDK error logs its request id and HTTP status (not the whole response)', () => {
    // The shape of an AWS SDK v3 ServiceException: name, $fault and $metadata as own properties.
    const e = Object.assign(new Error('You are not authorized to perform this operation.'), {
      name: 'UnauthorizedOperation',
      $fault: 'client',
      $metadata: { httpStatusCode: 403, requestId: 'req-7f3a', attempts: 1 },
      Code: 'UnauthorizedOperation',
    });
    const s = serializeError(e);
    expect(s).toMatchObject({ type: 'UnauthorizedOperation', requestId: 'req-7f3a', httpStatusCode: 403 });
    expect(s).toMatchObject({ Code: 'UnauthorizedOperation' });
    expect(s).not.toHaveProperty('$metadata');
  });

  it('a thrown non-Error is still described, whatever it is', () => {
    expect(serializeError('boom')).toEqual({ type: 'string', message: 'boom' });
    expect(serializeError({ toString: 1 })).toEqual({ type: 'object', message: '{"toString":1}' });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(serializeError(cyclic)).toEqual({ type: 'object', message: '[object Object]' });
  });
});
