// HTTP listeners for introspection and metrics: "host:port", ":port" (all interfaces) or "unix:<path>".
// A non-loopback address is refused unless the caller says it was configured on purpose.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { StartupError } from '@vpc-cni/shared/startup';

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export function parseBind(address: string): { unix: string } | { host: string; port: number } {
  if (address.startsWith('unix:')) return { unix: address.slice(5) };
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`bad listen address "${address}"`);
  return { host, port };
}

export async function listenHttp(
  address: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  o: {
    allowNonLoopback: boolean;
    what: string;
    /** The variable setting the address (named in errors). */ variable?: string;
  },
): Promise<{ server: Server; port: number }> {
  const bind = parseBind(address);
  if ('host' in bind && !isLoopbackHost(bind.host) && !o.allowNonLoopback)
    throw new Error(`refusing to serve ${o.what} on non-loopback address "${address}"`);
  const server = createServer(handler);
  server.requestTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      server.close();
      const where = o.variable ? `set ${o.variable} to a free address` : 'configure a free address';
      if (e.code === 'EADDRINUSE')
        reject(
          new StartupError(
            `${o.what} address ${address} is already in use (EADDRINUSE)`,
            `stop the process holding it or ${where}`,
            { cause: e },
          ),
        );
      else if (e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL')
        reject(
          new StartupError(`cannot listen on ${o.what} address ${address} (${e.code})`, where, { cause: e }),
        );
      else reject(e);
    });
    if ('unix' in bind) {
      rmSync(bind.unix, { force: true });
      server.listen(bind.unix, resolve);
    } else server.listen(bind.port, bind.host || undefined, resolve);
  });
  const a = server.address();
  return { server, port: typeof a === 'object' && a ? a.port : 0 };
}
