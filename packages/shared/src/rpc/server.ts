// gRPC server helper for ipamd and the network policy agent: typed async handlers over the method descriptors,
// a unix socket (0660) and an optional loopback-only TCP listener, and the standard health service. The calls
// run on HTTP/2 directly (./h2-server.ts), not grpc-js: packages/shared/README.md#rpc-server says why; the HTTP/2
// is our own framing over node:net (./h2-session.ts) unless `http2: 'node'` asks for node:http2's.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { isIP } from 'node:net';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { Http2Session } from 'node:http2';
import { Health, type UnaryMethod } from './services.js';
import { HealthRegistry } from './health.js';
import { GrpcRouter } from './h2-server.js';
import { H2ServerSession } from './h2-session.js';

export type UnaryHandler<Req, Res> = (request: Req) => Promise<Res>;

/** Handlers for every method of a descriptor object such as CNIBackend. */
export type ServiceHandlers<S> = {
  [K in keyof S]: S[K] extends UnaryMethod<infer Req, infer Res> ? UnaryHandler<Req, Res> : never;
};

export interface RpcServerOptions {
  /** Path of the unix socket, e.g. /var/run/aws-node/ipamd.sock. */
  readonly unixSocket?: string;
  /** `host:port` for older plugins, e.g. 127.0.0.1:50051. Must be a loopback address. */
  readonly tcpAddress?: string;
  readonly socketMode?: number;
  /**
   * Whose HTTP/2: our own framing over node:net (the default), or node:http2's (loaded only then); the choice and
   * its measurements: docs/architecture.md#decisions, 16.
   */
  readonly http2?: 'node' | 'own';
}

/** Streams a client may have open at once on one connection; more are refused per stream. */
const MAX_CONCURRENT_STREAMS = 1_000;

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** Splits `host:port` / `[v6]:port`; throws on anything else. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid listen address "${address}": expected host:port`);
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}

type AnyMethod = UnaryMethod<unknown, unknown>;

export class RpcServer {
  readonly health = new HealthRegistry();
  private readonly router = new GrpcRouter();
  private readonly servers: Server[] = [];
  private readonly sessions = new Set<{ close(): void; destroy(): void }>();
  private started = false;

  constructor(private readonly options: RpcServerOptions) {
    if (options.tcpAddress !== undefined) {
      const { host } = splitHostPort(options.tcpAddress);
      if (!isLoopback(host)) {
        throw new Error(
          `refusing to serve gRPC on non-loopback address ${options.tcpAddress}: ipamd has no auth`,
        );
      }
    }
    this.router.unary(Health.Check as AnyMethod, this.health.check as (r: unknown) => Promise<unknown>);
    this.router.stream(
      Health.Watch as AnyMethod,
      this.health.watch as (r: unknown, send: (x: unknown) => void) => () => void,
    );
  }

  // MessageFns<T> is invariant in T, so the constraint needs `any` to accept every concrete method type.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addService<S extends Record<string, UnaryMethod<any, any>>>(
    service: S,
    handlers: ServiceHandlers<S>,
  ): void {
    for (const name of Object.keys(service)) {
      const handler = (handlers as Record<string, UnaryHandler<unknown, unknown>>)[name];
      if (!handler) throw new Error(`no handler for ${name}`);
      this.router.unary(service[name] as AnyMethod, handler);
    }
  }

  private async listen(bind: (s: Server) => void): Promise<Server> {
    const server = this.options.http2 === 'node' ? await this.nodeServer() : this.ownServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        resolve();
      });
      bind(server);
    });
    this.servers.push(server);
    return server;
  }

  private async nodeServer(): Promise<Server> {
    const { createServer } = await import('node:http2');
    const server = createServer({
      // Every call is small; a peer opening more streams than this at once is refused per stream.
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
    });
    server.on('stream', this.router.onStream);
    server.on('session', (s: Http2Session) => {
      this.sessions.add(s);
      // A peer's protocol error ends its session (node:http2 sends GOAWAY); nothing to do but forget it.
      s.on('error', () => {});
      s.once('close', () => this.sessions.delete(s));
    });
    return server;
  }

  private ownServer(): Server {
    return createNetServer((socket: Socket) => {
      const session: H2ServerSession = new H2ServerSession(socket, this.router, MAX_CONCURRENT_STREAMS, () =>
        this.sessions.delete(session),
      );
      this.sessions.add(session);
    });
  }

  /** Listens on the configured endpoints. Returns the TCP port actually bound (0 when none). */
  async start(): Promise<{ tcpPort: number }> {
    if (this.started) throw new Error('RpcServer already started');
    this.started = true;
    const { unixSocket, tcpAddress, socketMode = 0o660 } = this.options;
    try {
      if (unixSocket) {
        mkdirSync(dirname(unixSocket), { recursive: true, mode: 0o755 });
        rmSync(unixSocket, { force: true });
        await this.listen((s) => s.listen(unixSocket));
        chmodSync(unixSocket, socketMode);
      }
      if (!tcpAddress) return { tcpPort: 0 };
      const { host, port } = splitHostPort(tcpAddress);
      const server = await this.listen((s) => s.listen(port, host));
      const address = server.address();
      return { tcpPort: typeof address === 'object' && address ? address.port : 0 };
    } catch (e) {
      await this.stop(0);
      throw e;
    }
  }

  /** Stops accepting calls, lets in-flight ones finish for up to graceMs, then forces. */
  async stop(graceMs = 5_000): Promise<void> {
    const closed = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    this.servers.length = 0;
    this.router.endStreams();
    for (const s of this.sessions) s.close();
    const force = setTimeout(() => {
      for (const s of this.sessions) s.destroy();
    }, graceMs);
    await Promise.all(closed);
    clearTimeout(force);
  }
}
