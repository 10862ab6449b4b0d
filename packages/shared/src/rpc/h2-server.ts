// Unary (and server-streaming, for Health.Watch) gRPC calls on HTTP/2 streams, without a gRPC library: one
// stream per call, the body collected up to the message limit, decoded, handed to its handler, the reply sent as
// HEADERS + DATA + trailers (grpc-status 0), a failure as a trailers-only response. Deadlines (grpc-timeout),
// cancellation (RST_STREAM), unknown methods (UNIMPLEMENTED), oversize and malformed messages are answered as
// grpc-go answers them. HTTP/2 itself (framing, HPACK, flow control, bad frames → GOAWAY) is the transport's:
// node:http2 (`onStream` below) or our own framing over node:net (./h2-session.ts), both through `CallStream`.
// Why not grpc-js: packages/shared/README.md#rpc-server.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { UnaryMethod } from './services.js';
import {
  type CallFailure,
  encodeGrpcMessage,
  frameMessage,
  MAX_MESSAGE_BYTES,
  parseGrpcTimeout,
  unaryMessage,
} from './grpc-wire.js';
import { GrpcStatus, RpcError } from './status.js';

/** A unary handler: the decoded request in, the reply (or a rejection: RpcError keeps its code) out. */
export type UnaryCallHandler = (request: unknown) => Promise<unknown>;

/**
 * A server-streaming handler: `send` writes one message; the returned function is called once when the call
 * ends (client cancelled, deadline, server stopping).
 */
export type StreamCallHandler = (request: unknown, send: (reply: unknown) => void) => () => void;

type Entry =
  | {
      readonly kind: 'unary';
      readonly method: UnaryMethod<unknown, unknown>;
      readonly handler: UnaryCallHandler;
    }
  | {
      readonly kind: 'stream';
      readonly method: UnaryMethod<unknown, unknown>;
      readonly handler: StreamCallHandler;
    };

/** Response headers and trailers, as the transports take them (names lower case). */
export type OutHeaders = Readonly<Record<string, string | number>>;

export const OK_HEADERS: OutHeaders = Object.freeze({
  ':status': 200,
  'content-type': 'application/grpc',
  'grpc-accept-encoding': 'identity',
});
export const OK_TRAILERS: OutHeaders = Object.freeze({ 'grpc-status': '0' });

/** What a call needs from its HTTP/2 stream (node:http2's, adapted below, or ./h2-session.ts's). */
export interface CallStream {
  /** Response headers already sent: a trailers-only answer is no longer possible. */
  readonly headersSent: boolean;
  /** Closed, reset or its connection gone: nothing more is sent. */
  readonly closed: boolean;
  /** A trailers-only response: one HEADERS frame that ends the stream. */
  respondOnly(headers: OutHeaders): void;
  /** A unary reply in one go: headers, one DATA payload, trailers ending the stream. */
  reply(headers: OutHeaders, body: Buffer, trailers: OutHeaders): void;
  /** A streaming reply: headers now, then `write`s, then `end` with the trailers. */
  respond(headers: OutHeaders): void;
  write(chunk: Buffer): void;
  end(trailers: OutHeaders): void;
}

/** The request headers a call is routed and checked by. */
export interface RequestHead {
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly contentType: string | undefined;
  readonly timeout: string | undefined;
  readonly encoding: string | undefined;
}

/** What a transport tells a call: request data, the request's end, the stream closing. */
export interface CallEvents {
  data(chunk: Buffer): void;
  received(): void;
  abandon(): void;
}
/** A server's grpc-message is cut to this many characters (a header, so bounded). */
const MAX_DETAILS = 4_000;
/** setTimeout's largest delay; longer deadlines are not armed (the call would outlive any client). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const failureOf = (err: unknown): CallFailure =>
  err instanceof RpcError
    ? { code: err.code, details: err.details }
    : { code: GrpcStatus.UNKNOWN, details: err instanceof Error ? err.message : String(err) };

/** The calls of every registered method, keyed by HTTP/2 path (e.g. /rpc.CNIBackend/AddNetwork). */
export class GrpcRouter {
  private readonly routes = new Map<string, Entry>();
  /** Streaming calls in progress, ended with UNAVAILABLE when the server stops. */
  private readonly open = new Set<() => void>();

  unary(method: UnaryMethod<unknown, unknown>, handler: UnaryCallHandler): void {
    this.add({ kind: 'unary', method, handler });
  }

  stream(method: UnaryMethod<unknown, unknown>, handler: StreamCallHandler): void {
    this.add({ kind: 'stream', method, handler });
  }

  private add(entry: Entry): void {
    if (this.routes.has(entry.method.path)) throw new Error(`${entry.method.path} registered twice`);
    this.routes.set(entry.method.path, entry);
  }

  /** Ends every streaming call (server stopping): trailers with UNAVAILABLE. */
  endStreams(): void {
    for (const end of [...this.open]) end();
  }

  /** node:http2's `stream` event: one call. */
  readonly onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    // A reset or broken stream emits 'error'; the call just ends (nothing to answer).
    stream.on('error', noop);
    const call = this.dispatch(new NodeStream(stream), {
      method: headers[':method'],
      path: headers[':path'],
      contentType: headers['content-type'],
      timeout: headers['grpc-timeout'] as string | undefined,
      encoding: headers['grpc-encoding'] as string | undefined,
    });
    if (!call) return;
    stream.on('data', (chunk: Buffer) => call.data(chunk));
    stream.once('end', () => call.received());
    // Cancelled by the client (RST_STREAM) or the connection went away: nothing more is sent.
    stream.once('close', () => call.abandon());
  };

  /**
   * One call on `stream`: answered at once when it cannot be served (not POST, not gRPC, unknown method, bad
   * grpc-timeout; undefined), otherwise the call, which the transport then feeds.
   */
  dispatch(stream: CallStream, head: RequestHead): CallEvents | undefined {
    if (head.method !== 'POST') {
      respondHttp(stream, 405, `gRPC calls are POST, not ${String(head.method)}`);
      return undefined;
    }
    const type = head.contentType;
    if (typeof type !== 'string' || !/^application\/grpc(?:$|[+;])/.test(type)) {
      respondHttp(stream, 415, `content-type ${JSON.stringify(type ?? '')} is not application/grpc`);
      return undefined;
    }
    const path = head.path ?? '';
    const entry = this.routes.get(path);
    if (!entry) {
      fail(stream, { code: GrpcStatus.UNIMPLEMENTED, details: `unknown method ${path.slice(0, 200)}` });
      return undefined;
    }
    const timeout = parseGrpcTimeout(head.timeout);
    if (timeout instanceof Error) {
      fail(stream, { code: GrpcStatus.INTERNAL, details: timeout.message });
      return undefined;
    }
    return new Call(stream, entry, timeout, head.encoding, this.open);
  }
}

/** node:http2's stream as a CallStream. */
class NodeStream implements CallStream {
  constructor(private readonly s: ServerHttp2Stream) {}
  get headersSent(): boolean {
    return this.s.headersSent;
  }
  get closed(): boolean {
    return this.s.destroyed || this.s.closed;
  }
  respondOnly(headers: OutHeaders): void {
    this.s.respond(headers, { endStream: true });
  }
  reply(headers: OutHeaders, body: Buffer, trailers: OutHeaders): void {
    const s = this.s;
    s.respond(headers, { waitForTrailers: true });
    s.once('wantTrailers', () => s.sendTrailers(trailers));
    s.end(body);
  }
  respond(headers: OutHeaders): void {
    this.s.respond(headers, { waitForTrailers: true });
  }
  write(chunk: Buffer): void {
    this.s.write(chunk);
  }
  end(trailers: OutHeaders): void {
    const s = this.s;
    s.once('wantTrailers', () => s.sendTrailers(trailers));
    s.end();
  }
}

function noop(): void {}

/** A plain HTTP error (not a gRPC call at all), with a grpc-status too for gRPC clients. */
function respondHttp(stream: CallStream, status: number, details: string): void {
  if (stream.closed || stream.headersSent) return;
  stream.respondOnly({
    ':status': status,
    'content-type': 'application/grpc',
    'grpc-status': String(GrpcStatus.INTERNAL),
    'grpc-message': encodeGrpcMessage(details),
  });
}

/** A failure before any reply: a trailers-only response (one HEADERS frame ending the stream). */
function fail(stream: CallStream, f: CallFailure): void {
  if (stream.closed || stream.headersSent) return;
  stream.respondOnly({
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(f.code),
    'grpc-message': encodeGrpcMessage(f.details.slice(0, MAX_DETAILS)),
  });
}

/** One call in progress: reads the request, runs the handler, answers once. */
class Call implements CallEvents {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private endStream: (() => void) | undefined;

  constructor(
    private readonly stream: CallStream,
    private readonly entry: Entry,
    timeoutMs: number | undefined,
    private readonly encoding: string | undefined,
    private readonly open: Set<() => void>,
  ) {
    if (timeoutMs !== undefined && timeoutMs < MAX_TIMER_MS) {
      this.timer = setTimeout(
        () => this.finish({ code: GrpcStatus.DEADLINE_EXCEEDED, details: 'deadline exceeded' }),
        timeoutMs,
      );
    }
  }

  data(chunk: Buffer): void {
    if (this.done) return;
    this.size += chunk.length;
    if (this.size > MAX_MESSAGE_BYTES + 5) {
      this.finish({
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        details: `received message larger than max (over ${MAX_MESSAGE_BYTES} bytes)`,
      });
      return;
    }
    this.chunks.push(chunk);
  }

  received(): void {
    if (this.done) return;
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.chunks.length = 0;
    const message = unaryMessage(body, this.encoding);
    if (!(message instanceof Uint8Array)) return this.finish(message);
    let request: unknown;
    try {
      request = this.entry.method.request.decode(message);
    } catch (e) {
      return this.finish({
        code: GrpcStatus.INTERNAL,
        details: `cannot decode the request: ${(e as Error).message}`,
      });
    }
    const entry = this.entry;
    if (entry.kind === 'stream') return this.startStream(entry.handler, request);
    let reply: Promise<unknown>;
    try {
      reply = entry.handler(request);
    } catch (e) {
      return this.finish(failureOf(e));
    }
    reply.then(
      (r) => this.reply(r),
      (e: unknown) => this.finish(failureOf(e)),
    );
  }

  private reply(value: unknown): void {
    if (this.done) return;
    let bytes: Uint8Array;
    try {
      bytes = this.entry.method.response.encode(value).finish();
    } catch (e) {
      return this.finish({
        code: GrpcStatus.INTERNAL,
        details: `cannot encode the reply: ${(e as Error).message}`,
      });
    }
    if (bytes.length > MAX_MESSAGE_BYTES) {
      return this.finish({
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        details: `reply larger than max (${bytes.length} vs. ${MAX_MESSAGE_BYTES})`,
      });
    }
    this.settle();
    const { stream } = this;
    if (stream.closed) return;
    stream.reply(OK_HEADERS, frameMessage(bytes), OK_TRAILERS);
  }

  private startStream(handler: StreamCallHandler, request: unknown): void {
    const { stream } = this;
    stream.respond(OK_HEADERS);
    const send = (r: unknown): void => {
      if (this.done || stream.closed) return;
      stream.write(frameMessage(this.entry.method.response.encode(r).finish()));
    };
    let stop: (() => void) | undefined;
    const end = (): void => this.finish({ code: GrpcStatus.UNAVAILABLE, details: 'the server is stopping' });
    this.endStream = () => {
      this.open.delete(end);
      stop?.();
    };
    this.open.add(end);
    try {
      stop = handler(request, send);
    } catch (e) {
      this.finish(failureOf(e));
    }
  }

  /** Marks the call answered: no timer, no streaming handler. */
  private settle(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.endStream?.();
    this.endStream = undefined;
  }

  private finish(f: CallFailure): void {
    if (this.done) return;
    this.settle();
    const { stream } = this;
    if (!stream.headersSent) return fail(stream, f);
    if (stream.closed) return;
    // A streaming reply in progress: its trailers carry the status.
    stream.end({
      'grpc-status': String(f.code),
      'grpc-message': encodeGrpcMessage(f.details.slice(0, MAX_DETAILS)),
    });
  }

  abandon(): void {
    if (this.done) return;
    this.settle();
    this.chunks.length = 0;
  }
}
