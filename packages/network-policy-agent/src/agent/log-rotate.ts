// --log-file-max-size / --log-file-max-backups: when the log file passes the size, it is renamed to
// <file>.1 (older backups shifted up, the oldest beyond max-backups deleted) and pino reopens the path (it
// appends to the path it was given). Checked every 10 s. Backups are not compressed (upstream gzips them).
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import type { Logger } from '@vpc-cni/shared/logging';

export function rotateOnce(file: string, maxBytes: number, maxBackups: number): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size < maxBytes) return false;
  if (maxBackups === 0) {
    rmSync(file, { force: true });
    return true;
  }
  rmSync(`${file}.${maxBackups}`, { force: true });
  for (let i = maxBackups - 1; i >= 1; i--)
    if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  renameSync(file, `${file}.1`);
  return true;
}

export function rotateWhenLarge(
  file: string,
  o: { logFileMaxSizeMb: number; logFileMaxBackups: number },
  logger: Logger & { reopen(): void },
  everyMs = 10_000,
): () => void {
  const t = setInterval(() => {
    try {
      if (rotateOnce(file, o.logFileMaxSizeMb * 1024 * 1024, o.logFileMaxBackups)) {
        logger.reopen();
        logger.info({ file }, 'log file rotated');
      }
    } catch (err) {
      logger.warn({ err, file }, 'log rotation failed');
    }
  }, everyMs);
  t.unref();
  return () => clearInterval(t);
}
