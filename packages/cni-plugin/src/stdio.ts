// Standard input and output of a one-shot plugin, read and written on the file descriptors directly.
// process.stdin and process.stdout are streams whose construction (tty/net/pipe wrappers) costs ~3 ms each per
// start, more than a whole netlink round of the ADD; a CNI config is a few hundred bytes read once to EOF.
import { readSync, writeSync } from 'node:fs';

const sleepMs = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

/** All of stdin as UTF-8. A non-blocking stdin (inherited that way) is finished through the stream. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if (errCode(e) === 'EAGAIN') return Buffer.concat([...chunks, await streamRest()]).toString('utf8');
      if (errCode(e) === 'EINTR') continue;
      throw e;
    }
    if (n === 0) return Buffer.concat(chunks).toString('utf8');
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

function streamRest(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
  });
}

/** Writes all of `text` to fd `fd` (1 or 2), waiting out a full non-blocking pipe. */
export function writeAll(fd: 1 | 2, text: string): void {
  const data = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if (errCode(e) !== 'EAGAIN' && errCode(e) !== 'EINTR') throw e;
      sleepMs(1);
    }
  }
}
