// The journal's and the checkpoint's file operations (docs/architecture.md#checkpoint-file): segment names next
// to the checkpoint, positional writes, directory fsync, and the atomic replace of the checkpoint file.
import { readdirSync, write } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** `ipam.json.journal.<gen>` files next to the checkpoint, oldest first. */
export function listSegments(path: string): { gen: number; path: string }[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.journal.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .map((n) => ({ gen: Number(n.slice(prefix.length)), path: join(dir, n) }))
    .sort((a, b) => a.gen - b.gen);
}

export function writeAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const go = (done: number): void =>
      write(fd, buf, done, buf.length - done, position + done, (err, n) => {
        if (err) reject(err);
        else if (done + n < buf.length) go(done + n);
        else resolve();
      });
    go(0);
  });
}

export async function fsyncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Temp file, fsync, rename over `path`, fsync of the directory: a reader sees the old file or the new one. */
export async function durableReplace(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${basename(path)}.tmp${randomBytes(4).toString('hex')}`);
  try {
    const f = await open(tmp, 'w', 0o600);
    try {
      await f.writeFile(text);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}
