// A minimal unary gRPC client for short-lived callers (the CNI plugin): no gRPC library and no node:http2 (whose
// loading alone costs more than a call), dials lazily, bounds every call with a deadline. Wire format: HTTP/2
// POST to the method path, body = 1-byte compressed flag + 4-byte big-endian length + protobuf message; status in
// grpc-status trailers (or in the headers of a trailers-only response). HTTP/2 itself: ./h2-connection.ts.
import { H2Connection, type H2Error } from './h2-connection.js';
import { netTransport, type H2Transport, type Target } from './transport.js';
import { ENDPOINT_FORMS, endpointTarget } from './endpoints.js';
import { clip } from '../describe/index.js';
import { GrpcStatus, RpcError } from './status.js';
import { MAX_MESSAGE_BYTES } from './grpc-wire.js';
import type { UnaryMethod } from './services.js';

export interface RpcClientOptions {
  /** `unix:///var/run/aws-node/ipamd.sock`, `unix:/path`, a bare absolute path, or `host:port`. */
  readonly endpoint: string;
  /** Default per-call deadline in milliseconds. */
  readonly deadlineMs?: number;
  /** Makes the byte stream for a target; undefined (or no factory) means node:net. */
  readonly transport?: (target: Target) => H2Transport | undefined;
}

/**
 * The largest message sent or accepted: gRPC's default receive limit (grpc-go, grpc-js, hence ipamd and
 * upstream's), so a larger request would be refused by the server anyway; said here, before anything is sent.
 */
export { MAX_MESSAGE_BYTES };
/** A server's grpc-message is shown up to this many characters. */
const MAX_STATUS_TEXT = 1000;

export interface CallOptions {
  readonly deadlineMs?: number;
}

/** Parses an endpoint into a unix socket path or a TCP authority. */
export function parseEndpoint(endpoint: string): { socketPath: string } | { authority: string } {
  if (endpoint.startsWith('unix://')) return { socketPath: endpoint.slice('unix://'.length) };
  if (endpoint.startsWith('unix:')) return { socketPath: endpoint.slice('unix:'.length) };
  if (endpoint.startsWith('/')) return { socketPath: endpoint };
  return { authority: endpoint };
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** gRPC's mapping of HTTP/2 RST_STREAM codes (doc/PROTOCOL-HTTP2.md). */
function statusOfReset(code: number): number {
  if (code === 0x7) return GrpcStatus.UNAVAILABLE; // REFUSED_STREAM
  if (code === 0x8) return GrpcStatus.CANCELLED;
  if (code === 0xb) return GrpcStatus.RESOURCE_EXHAUSTED; // ENHANCE_YOUR_CALM
  if (code === 0xc) return GrpcStatus.PERMISSION_DENIED; // INADEQUATE_SECURITY
  return GrpcStatus.INTERNAL;
}

function statusOfH2Error(e: H2Error): number {
  if (e.kind === 'reset') return statusOfReset(e.rstCode);
  return e.kind === 'unavailable' ? GrpcStatus.UNAVAILABLE : GrpcStatus.INTERNAL;
}

/** grpc-message is percent-encoded; a malformed escape is shown as sent. */
function decodeMessage(m: string): string {
  try {
    return decodeURIComponent(m);
  } catch {
    return m;
  }
}

export class RpcClient {
  private conn: H2Connection | undefined;

  constructor(private readonly options: RpcClientOptions) {}

  private open(): H2Connection {
    if (this.conn && !this.conn.closed) return this.conn;
    const target: Target | { error: string } = endpointTarget(this.options.endpoint);
    if ('error' in target)
      throw new RpcError(
        GrpcStatus.INVALID_ARGUMENT,
        `invalid endpoint (${target.error}); use ${ENDPOINT_FORMS}`,
        'connect',
      );
    const transport = this.options.transport?.(target) ?? netTransport(target);
    return (this.conn = new H2Connection(transport));
  }

  /** Calls a unary method; resolves with the decoded reply or rejects with RpcError. */
  call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, opts: CallOptions = {}): Promise<Res> {
    const deadlineMs = opts.deadlineMs ?? this.options.deadlineMs ?? 30_000;
    return new Promise<Res>((resolve, reject) => {
      let settled = false;
      const chunks: Buffer[] = [];
      let replyBytes = 0;
      let status: string | undefined;
      let message = '';
      let stream = 0;
      const fail = (code: number, details: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new RpcError(code, details, method.path));
      };
      const succeed = (value: Res) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        conn.cancel(stream);
        fail(GrpcStatus.DEADLINE_EXCEEDED, `no reply within ${deadlineMs} ms`);
      }, deadlineMs);
      let conn: H2Connection;
      try {
        conn = this.open();
      } catch (e) {
        clearTimeout(timer);
        settled = true;
        reject(e);
        return;
      }
      const headers: Array<[string, string]> = [
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', method.path],
        [':authority', 'localhost'],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['grpc-timeout', `${Math.max(1, Math.ceil(deadlineMs))}m`],
      ];
      try {
        const encoded = method.request.encode(request).finish();
        if (encoded.length > MAX_MESSAGE_BYTES) {
          fail(
            GrpcStatus.RESOURCE_EXHAUSTED,
            `request of ${encoded.length} bytes is over the ${MAX_MESSAGE_BYTES}-byte gRPC message limit`,
          );
          return;
        }
        stream = conn.request(headers, frame(encoded), {
          headers: (list) => {
            for (const [name, value] of list) {
              if (name === 'grpc-status') status = value;
              else if (name === 'grpc-message') message = value;
            }
          },
          data: (c) => {
            replyBytes += c.length;
            if (replyBytes <= MAX_MESSAGE_BYTES + 5) return void chunks.push(c);
            conn.cancel(stream);
            fail(
              GrpcStatus.RESOURCE_EXHAUSTED,
              `reply of over ${MAX_MESSAGE_BYTES} bytes refused (the gRPC message limit)`,
            );
          },
          end: (err) => {
            if (err) return fail(statusOfH2Error(err), err.message);
            if (status === undefined || status === '') {
              return fail(GrpcStatus.UNKNOWN, 'the server ended the call without a grpc-status');
            }
            const code = /^\d{1,2}$/.test(status) && Number(status) <= 16 ? Number(status) : undefined;
            if (code === undefined)
              return fail(
                GrpcStatus.UNKNOWN,
                `the server sent an invalid grpc-status ${JSON.stringify(clip(status, 20))}`,
              );
            if (code !== GrpcStatus.OK) return fail(code, clip(decodeMessage(message), MAX_STATUS_TEXT));
            const body = Buffer.concat(chunks);
            if (body.length < 5) return fail(GrpcStatus.INTERNAL, 'server replied OK without a message');
            if (body.readUInt8(0) !== 0)
              return fail(GrpcStatus.INTERNAL, 'compressed replies are not supported');
            const len = body.readUInt32BE(1);
            try {
              succeed(method.response.decode(body.subarray(5, 5 + len)));
            } catch (e) {
              fail(GrpcStatus.INTERNAL, `cannot decode reply: ${(e as Error).message}`);
            }
          },
        });
      } catch (e) {
        fail(GrpcStatus.INTERNAL, (e as Error).message);
      }
    });
  }

  /**
   * Settles once the connection is up, so the requests already made are on their way (or once it failed:
   * the calls report that). Lets a caller start synchronous work while the server answers.
   */
  connected(): Promise<void> {
    try {
      return this.open().ready;
    } catch {
      return Promise.resolve(); // an invalid endpoint: the calls already report it
    }
  }

  close(): void {
    this.conn?.close();
    this.conn = undefined;
  }
}
