// Serve an existing HTTP server also on a unix socket: unix sockets live in the filesystem, not in a network
// namespace, so a proxy inside a node's or the fabric's netns can reach a server running in the test process.
import { rmSync } from 'node:fs';
import { type Server as HttpServer } from 'node:http';
import { createServer } from 'node:net';

export async function bridgeToUnix(http: HttpServer, path: string): Promise<() => Promise<void>> {
  rmSync(path, { force: true });
  const unix = createServer((socket) => http.emit('connection', socket));
  await new Promise<void>((resolve, reject) => {
    unix.once('error', reject);
    unix.listen(path, resolve);
  });
  return () =>
    new Promise<void>((resolve) => {
      unix.close(() => resolve());
      rmSync(path, { force: true });
    });
}
