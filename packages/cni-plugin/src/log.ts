// A tiny JSON-lines file logger for the plugin (pino costs start-up time; the plugin logs a few lines per run).
// Never writes to stdout: stdout carries the CNI result.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogFn, Logger } from '@vpc-cni/shared/logging';
import { serializeError } from '@vpc-cni/shared/logging/serialize-error';
import type { LogLevel } from './cni/netconf.js';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50 };

/** `file` "" or "stderr" → stderr; "stdout" is refused (would corrupt the result) and goes to stderr. */
export function createFileLogger(
  file: string,
  level: LogLevel,
  bindings: Record<string, unknown> = {},
): Logger {
  const target =
    file.toLowerCase() === 'stdout' || file.toLowerCase() === 'stderr' || file === '' ? '' : file;
  if (target) {
    try {
      mkdirSync(dirname(target), { recursive: true });
    } catch {
      // unwritable directory: the append below fails too and falls back to stderr
    }
  }
  const write = (line: string) => {
    if (target) {
      try {
        appendFileSync(target, line);
        return;
      } catch {
        // fall through to stderr so the message is not lost
      }
    }
    process.stderr.write(line);
  };
  const make = (lvl: LogLevel): LogFn =>
    ((a: string | Record<string, unknown>, b?: string) => {
      if (RANK[lvl] < RANK[level]) return;
      const fields: Record<string, unknown> = typeof a === 'string' ? { msg: a } : { ...a, msg: b ?? '' };
      if ('err' in fields) fields['err'] = serializeError(fields['err']); // as ipamd's pino logger writes it
      // Other errors carry their text in non-enumerable fields that JSON.stringify drops.
      for (const [k, v] of Object.entries(fields)) if (v instanceof Error) fields[k] = v.message;
      write(`${JSON.stringify({ level: lvl, ts: new Date().toISOString(), ...bindings, ...fields })}\n`);
    }) as LogFn;
  return {
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
    child: (b) => createFileLogger(file, level, { ...bindings, ...b }),
  };
}
