// A minimal unary gRPC client over node:http2, for short-lived callers (the CNI plugin): it loads no gRPC
// library, dials lazily, and bounds every call with a deadline. Wire format: HTTP/2 POST to the method path,
// body = 1-byte compressed flag + 4-byte big-endian length + protobuf message; status in grpc-status trailers
// (or in the headers of a trailers-only response).
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { GrpcStatus, RpcError } from './status.js';
import type { UnaryMethod } from './services.js';

export interface RpcClientOptions {
  /** `unix:///var/run/aws-node/ipamd.sock`, `unix:/path`, a bare absolute path, or `host:port`. */
  readonly endpoint: string;
  /** Default per-call deadline in milliseconds. */
  readonly deadlineMs?: number;
}

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

export class RpcClient {
  private session: ClientHttp2Session | undefined;

  constructor(private readonly options: RpcClientOptions) {}

  private open(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const target = parseEndpoint(this.options.endpoint);
    const session =
      'socketPath' in target
        ? connect('http://localhost', { createConnection: () => netConnect(target.socketPath) })
        : connect(`http://${target.authority}`);
    session.on('error', () => {}); // surfaced per call through the stream's error
    this.session = session;
    return session;
  }

  /** Calls a unary method; resolves with the decoded reply or rejects with RpcError. */
  call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, opts: CallOptions = {}): Promise<Res> {
    const deadlineMs = opts.deadlineMs ?? this.options.deadlineMs ?? 30_000;
    return new Promise<Res>((resolve, reject) => {
      let settled = false;
      const chunks: Buffer[] = [];
      let headerStatus: string | undefined;
      let headerMessage: string | undefined;
      const finish = (err: RpcError | undefined, value?: Res) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value as Res);
      };
      const fail = (code: number, details: string) => finish(new RpcError(code, details, method.path));

      let session: ClientHttp2Session;
      try {
        session = this.open();
      } catch (e) {
        fail(GrpcStatus.UNAVAILABLE, (e as Error).message);
        return;
      }
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: method.path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': `${Math.max(1, Math.ceil(deadlineMs))}m`,
      });
      const timer = setTimeout(() => {
        stream.close(constants.NGHTTP2_CANCEL);
        fail(GrpcStatus.DEADLINE_EXCEEDED, `no reply within ${deadlineMs} ms`);
      }, deadlineMs);
      stream.on('response', (headers) => {
        const s = headers['grpc-status'];
        if (s !== undefined) {
          headerStatus = String(s);
          headerMessage = headers['grpc-message'] !== undefined ? String(headers['grpc-message']) : '';
        }
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('trailers', (trailers) => {
        headerStatus = String(trailers['grpc-status'] ?? headerStatus ?? '');
        headerMessage = String(trailers['grpc-message'] ?? headerMessage ?? '');
      });
      stream.on('error', (e: Error & { code?: string }) => {
        const unavailable = ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ERR_HTTP2_STREAM_CANCEL'];
        fail(
          unavailable.includes(e.code ?? '') || e.message.includes('ECONNREFUSED')
            ? GrpcStatus.UNAVAILABLE
            : GrpcStatus.INTERNAL,
          e.message,
        );
      });
      stream.on('close', () => {
        if (settled) return;
        if (headerStatus === undefined || headerStatus === '') {
          fail(GrpcStatus.UNAVAILABLE, 'connection closed before the server sent a status');
          return;
        }
        const code = Number(headerStatus);
        if (code !== GrpcStatus.OK) {
          fail(code, decodeURIComponent(headerMessage ?? ''));
          return;
        }
        const body = Buffer.concat(chunks);
        if (body.length < 5) {
          fail(GrpcStatus.INTERNAL, 'server replied OK without a message');
          return;
        }
        if (body.readUInt8(0) !== 0) {
          fail(GrpcStatus.INTERNAL, 'compressed replies are not supported');
          return;
        }
        const len = body.readUInt32BE(1);
        try {
          finish(undefined, method.response.decode(body.subarray(5, 5 + len)));
        } catch (e) {
          fail(GrpcStatus.INTERNAL, `cannot decode reply: ${(e as Error).message}`);
        }
      });
      stream.end(frame(method.request.encode(request).finish()));
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}
