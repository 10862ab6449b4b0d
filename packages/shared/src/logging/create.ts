// pino loggers in upstream's shape: JSON lines {"level":"info","ts":"<ISO-8601>","logger":..,"msg":..}
// written to stdout, stderr or a file (directories created), at a level from upstream's level names.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, destination as pinoDestination, type DestinationStream } from 'pino';
import type { Logger } from './logger.js';
import { serializeError } from './serialize-error.js';

export type LevelName = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface LoggerOptions {
  /** Upstream level name, any case (Debug, INFO, ...). Unknown names are rejected by the config module. */
  readonly level: string;
  /** `stdout`, `stderr` or a file path. */
  readonly file: string;
  /** Component name, logged as `logger`. */
  readonly name?: string;
  /** Flush every line before returning (short-lived processes; tests). */
  readonly sync?: boolean;
}

function destination(file: string, sync: boolean): DestinationStream {
  if (file === 'stdout') return pinoDestination({ fd: 1, sync });
  if (file === 'stderr') return pinoDestination({ fd: 2, sync });
  mkdirSync(dirname(file), { recursive: true });
  return pinoDestination({ dest: file, sync, append: true });
}

/** `reopen()` reopens the log file at its path (after a rotation renamed it); a no-op for stdout/stderr. */
export function createLogger(opts: LoggerOptions): Logger & { flush(): void; reopen(): void } {
  const level = opts.level.toLowerCase();
  const dest = destination(opts.file, opts.sync ?? false);
  const logger = pino(
    {
      level: ['debug', 'info', 'warn', 'error', 'fatal'].includes(level) ? level : 'debug',
      base: opts.name ? { logger: opts.name } : null,
      messageKey: 'msg',
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      // `err` as pino's standard serializer writes it, plus the AWS request id (see serialize-error.ts).
      serializers: { err: serializeError },
    },
    dest,
  );
  const reopen = (): void => {
    const d = dest as DestinationStream & { reopen?: () => void };
    if (opts.file !== 'stdout' && opts.file !== 'stderr') d.reopen?.();
  };
  return Object.assign(logger as unknown as Logger & { flush(): void }, { reopen });
}
