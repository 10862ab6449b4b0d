// /healthz (process up) and /readyz (every watch listed and following) on --health-probe-bind-addr.
import { createServer, type Server } from 'node:http';

export function parseBindAddr(addr: string): { host?: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i) : undefined;
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid bind address "${addr}"`);
  return host ? { host, port } : { port };
}

export async function serveHealth(addr: string, ready: () => boolean): Promise<Server> {
  const { host, port } = parseBindAddr(addr);
  const server = createServer((req, res) => {
    const ok = req.url === '/healthz' ? true : req.url === '/readyz' ? ready() : undefined;
    res.statusCode = ok === undefined ? 404 : ok ? 200 : 503;
    res.end(ok === undefined ? 'not found\n' : ok ? 'ok\n' : 'not ready\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
