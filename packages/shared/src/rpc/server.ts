// gRPC server helper for ipamd: typed async handlers over the method descriptors, a unix socket (0660) and an
// optional loopback-only TCP listener, and the standard health service.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { isIP } from 'node:net';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { Health, toGrpcServiceDefinition, type UnaryMethod } from './services.js';
import { HealthRegistry } from './health.js';
import { GrpcStatus, RpcError } from './status.js';

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
}

const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** Splits `host:port` / `[v6]:port`; throws on anything else. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid listen address "${address}": expected host:port`);
  return { host: (m[1] ?? m[2]) as string, port: Number(m[3]) };
}

export class RpcServer {
  readonly health = new HealthRegistry();
  private readonly server = new Server();
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
    this.server.addService(toGrpcServiceDefinition(Health), this.health.handlers());
  }

  // MessageFns<T> is invariant in T, so the constraint needs `any` to accept every concrete method type.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addService<S extends Record<string, UnaryMethod<any, any>>>(
    service: S,
    handlers: ServiceHandlers<S>,
  ): void {
    const impl: Record<
      string,
      (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void
    > = {};
    for (const name of Object.keys(service)) {
      const handler = (handlers as Record<string, UnaryHandler<unknown, unknown>>)[name];
      if (!handler) throw new Error(`no handler for ${name}`);
      impl[name] = (call, cb) => {
        handler(call.request).then(
          (reply) => cb(null, reply),
          (err: unknown) =>
            cb(
              err instanceof RpcError
                ? { code: err.code, details: err.details }
                : { code: GrpcStatus.UNKNOWN, details: err instanceof Error ? err.message : String(err) },
            ),
        );
      };
    }
    this.server.addService(
      toGrpcServiceDefinition(service as unknown as Record<string, UnaryMethod<unknown, unknown>>),
      impl,
    );
  }

  private bind(address: string): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  }

  /** Listens on the configured endpoints. Returns the TCP port actually bound (0 when none). */
  async start(): Promise<{ tcpPort: number }> {
    if (this.started) throw new Error('RpcServer already started');
    this.started = true;
    const { unixSocket, tcpAddress, socketMode = 0o660 } = this.options;
    if (unixSocket) {
      mkdirSync(dirname(unixSocket), { recursive: true, mode: 0o755 });
      rmSync(unixSocket, { force: true });
      await this.bind(`unix://${unixSocket}`);
      chmodSync(unixSocket, socketMode);
    }
    const tcpPort = tcpAddress ? await this.bind(tcpAddress) : 0;
    return { tcpPort };
  }

  /** Stops accepting calls, lets in-flight ones finish for up to graceMs, then forces. */
  stop(graceMs = 5_000): Promise<void> {
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}
