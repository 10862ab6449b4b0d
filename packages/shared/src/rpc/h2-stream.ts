// One request stream of ./h2-session.ts: the CallStream a call answers through (./h2-server.ts). What it sends
// goes through the session, which obeys the client's flow-control windows; what does not fit waits here, with the
// trailers that follow it, until a WINDOW_UPDATE or SETTINGS opens the windows (flush).
import { ErrorCode } from './h2-frames.js';
import { encodeHeaders } from './hpack.js';
import { type CallEvents, type CallStream, OK_HEADERS, OK_TRAILERS, type OutHeaders } from './h2-server.js';

/** What a stream needs of its session (./h2-session.ts). */
export interface StreamSession {
  /** The client's SETTINGS_INITIAL_WINDOW_SIZE: a new stream's send window. */
  readonly peerInitialWindow: number;
  headers(id: number, block: Buffer, endStream: boolean): void;
  /** DATA frames of `chunk` that fit the windows now; returns what does not fit (undefined: all sent). */
  data(s: Stream, chunk: Buffer): Buffer | undefined;
  reset(id: number, code: ErrorCode): void;
  forget(s: Stream): void;
}

const encoded = new Map<OutHeaders, Buffer>();
/** The HPACK block of response headers: literals without indexing; the two constant ones encoded once. */
export function headerBlock(h: OutHeaders): Buffer {
  const known = encoded.get(h);
  if (known) return known;
  const block = encodeHeaders(Object.entries(h).map(([k, v]) => [k, String(v)] as const));
  if (h === OK_HEADERS || h === OK_TRAILERS) encoded.set(h, block);
  return block;
}

/** One request stream: the CallStream its call answers through. */
export class Stream implements CallStream {
  headersSent = false;
  closed = false;
  /** The client's END_STREAM has arrived. */
  remoteEnded = false;
  /** Data received on this stream since its receive window was last reopened. */
  received = 0;
  call: CallEvents | undefined;
  /** How much the client accepts on this stream now. */
  window: number;
  /** Data held back by flow control, and the trailers that follow it. */
  private queued: Buffer[] = [];
  private queuedTrailers: Buffer | undefined;

  constructor(
    readonly id: number,
    private readonly session: StreamSession,
  ) {
    this.window = session.peerInitialWindow;
  }

  respondOnly(headers: OutHeaders): void {
    if (this.closed) return;
    this.headersSent = true;
    this.session.headers(this.id, headerBlock(headers), true);
    this.done();
  }

  reply(headers: OutHeaders, body: Buffer, trailers: OutHeaders): void {
    if (this.closed) return;
    this.respond(headers);
    this.write(body);
    this.end(trailers);
  }

  respond(headers: OutHeaders): void {
    if (this.closed) return;
    this.headersSent = true;
    this.session.headers(this.id, headerBlock(headers), false);
  }

  write(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    if (this.queued.length > 0) this.queued.push(chunk);
    else {
      const rest = this.session.data(this, chunk);
      if (rest) this.queued.push(rest);
    }
  }

  end(trailers: OutHeaders): void {
    if (this.closed) return;
    const block = headerBlock(trailers);
    if (this.queued.length > 0) this.queuedTrailers = block;
    else {
      this.session.headers(this.id, block, true);
      this.done();
    }
  }

  /** The windows opened: sends what now fits of the queue (and the trailers once it is empty). */
  flush(): void {
    while (this.queued.length > 0 && !this.closed) {
      const rest = this.session.data(this, this.queued[0] as Buffer);
      if (rest) {
        this.queued[0] = rest;
        return;
      }
      this.queued.shift();
    }
    if (this.queuedTrailers && !this.closed) {
      this.session.headers(this.id, this.queuedTrailers, true);
      this.queuedTrailers = undefined;
      this.done();
    }
  }

  get blocked(): boolean {
    return this.queued.length > 0;
  }

  /** Our side ended (END_STREAM sent): the stream is forgotten; frames the client still sends for it are ignored. */
  private done(): void {
    this.closed = true;
    this.queued = [];
    // Answered before the whole request arrived (e.g. RESOURCE_EXHAUSTED): the client may stop sending
    // (RFC 9113 §8.1, RST_STREAM NO_ERROR after a complete response).
    if (!this.remoteEnded) this.session.reset(this.id, ErrorCode.NO_ERROR);
    this.session.forget(this);
  }

  /** Reset by the client or the connection gone: the call is abandoned. */
  reset(): void {
    if (this.closed) return;
    this.closed = true;
    this.queued = [];
    this.call?.abandon();
  }
}
