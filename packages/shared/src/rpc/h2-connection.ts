// A minimal HTTP/2 client connection (RFC 9113) over one socket, enough for unary gRPC calls: it writes the
// preface, settings and each request in one go (no round trip before the first request), reads frames, answers
// SETTINGS and PING, and hands each stream its header blocks and data. Request bodies obey the peer's flow
// control (connection and stream windows, SETTINGS_INITIAL_WINDOW_SIZE, WINDOW_UPDATE): what does not fit is
// queued and sent as the peer opens its windows. Our own receive windows are opened to the maximum up front and
// the connection window is topped up as data arrives. Loading node:http2 costs a short-lived
// caller like aws-cni more than a whole call, hence this instead of the built-in client.
import { HpackDecoder, encodeHeaders, type HeaderList } from './hpack.js';
import {
  ACK,
  checkFrameSize,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  END_HEADERS,
  END_STREAM,
  frame,
  MAX_WINDOW,
  PREFACE,
  PRIORITY_FLAG as PRIORITY,
  readSettings,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_INITIAL_WINDOW_SIZE,
  Type,
  unpad,
} from './h2-frames.js';
import type { H2Transport } from './transport.js';

/** A request body still waiting for the peer's flow-control windows. */
interface Outgoing {
  window: number;
  rest: Buffer;
}

/** What a stream receives; `end` comes exactly once, with an error or after END_STREAM. */
export interface StreamHandler {
  headers(list: HeaderList, endStream: boolean): void;
  data(chunk: Buffer): void;
  end(err?: H2Error): void;
}

/** A connection or stream failure; `rstCode` is the HTTP/2 error code of a RST_STREAM, when that was the cause. */
export class H2Error extends Error {
  constructor(
    message: string,
    readonly kind: 'unavailable' | 'reset' | 'protocol',
    readonly rstCode = 0,
  ) {
    super(message);
  }
}

export class H2Connection {
  private readonly streams = new Map<number, StreamHandler>();
  private readonly decoder = new HpackDecoder();
  private nextStream = 1;
  private inbox: Buffer = Buffer.alloc(0);
  /** Header block being assembled from HEADERS + CONTINUATION frames. */
  private pending: { stream: number; endStream: boolean; parts: Buffer[] } | undefined;
  private dead: H2Error | undefined;
  /** GOAWAY received: streams already open may finish, new ones go to a new connection. */
  private goingAway = false;
  private maxFrame = DEFAULT_MAX_FRAME;
  /** How much request data the peer accepts now on the connection, and on a new stream. */
  private sendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  /** Open streams' send windows and unsent bodies (in stream order, so bodies go out in request order). */
  private readonly outgoing = new Map<number, Outgoing>();
  /** Data received since our connection window was last topped up. */
  private received = 0;
  /** Settles when the socket has connected (queued frames are then handed to the kernel) or has failed. */
  readonly ready: Promise<void>;

  constructor(private readonly transport: H2Transport) {
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(MAX_WINDOW, 8);
    const windowUpdate = Buffer.alloc(4);
    windowUpdate.writeUInt32BE(MAX_WINDOW - DEFAULT_WINDOW, 0);
    // Queued until the socket connects; nothing waits for the server's preface.
    this.transport.write(
      Buffer.concat([
        PREFACE,
        frame(Type.SETTINGS, 0, 0, settings),
        frame(Type.WINDOW_UPDATE, 0, 0, windowUpdate),
      ]),
    );
    this.ready = transport.ready;
    transport.listen({
      data: (chunk) => this.receive(chunk),
      error: (e) => this.fail(new H2Error(`${e.code ?? 'socket error'}: ${e.message}`, 'unavailable')),
      close: () => this.fail(new H2Error('connection closed before the server sent a status', 'unavailable')),
    });
  }

  get closed(): boolean {
    return this.dead !== undefined || this.goingAway;
  }

  /** Opens a stream: one HEADERS frame and the body as DATA frames ending the stream. */
  request(headers: ReadonlyArray<readonly [string, string]>, body: Buffer, handler: StreamHandler): number {
    if (this.dead || this.goingAway) {
      const err = this.dead ?? new H2Error('the server is going away', 'unavailable');
      queueMicrotask(() => handler.end(err));
      return 0;
    }
    const block = encodeHeaders(headers);
    if (block.length > this.maxFrame)
      throw new H2Error(`request headers of ${block.length} bytes exceed the peer's frame size`, 'protocol');
    const id = this.nextStream;
    this.nextStream += 2;
    this.streams.set(id, handler);
    this.transport.awaiting?.(true);
    const out: Outgoing = { window: this.peerInitialWindow, rest: body };
    this.outgoing.set(id, out);
    this.transport.write(
      Buffer.concat([frame(Type.HEADERS, END_HEADERS, id, block), ...this.dataFrames(id, out)]),
    );
    return id;
  }

  /** The DATA frames of a body that fit the windows now (the last one ends the stream). */
  private dataFrames(id: number, out: Outgoing): Buffer[] {
    const frames: Buffer[] = [];
    for (;;) {
      const n = Math.min(out.rest.length, this.maxFrame, this.sendWindow, out.window);
      if (n <= 0 && out.rest.length > 0) return frames; // blocked until a WINDOW_UPDATE or SETTINGS
      const part = out.rest.subarray(0, n);
      out.rest = out.rest.subarray(n);
      this.sendWindow -= n;
      out.window -= n;
      const last = out.rest.length === 0;
      frames.push(frame(Type.DATA, last ? END_STREAM : 0, id, part));
      if (last) {
        this.outgoing.delete(id);
        return frames;
      }
    }
  }

  /** Sends what the windows now allow of the queued bodies. */
  private flush(): void {
    const frames: Buffer[] = [];
    for (const [id, out] of this.outgoing) {
      if (out.rest.length === 0) continue;
      frames.push(...this.dataFrames(id, out));
      if (this.sendWindow <= 0) break;
    }
    if (frames.length > 0) this.transport.write(Buffer.concat(frames));
  }

  /** Abandons a stream (deadline): RST_STREAM CANCEL, and its handler hears nothing more. */
  cancel(id: number): void {
    this.outgoing.delete(id);
    if (!this.streams.delete(id) || this.dead) return;
    this.transport.awaiting?.(this.streams.size > 0);
    const code = Buffer.alloc(4);
    code.writeUInt32BE(0x8, 0);
    this.transport.write(frame(Type.RST_STREAM, 0, id, code));
  }

  /** Ends the connection gracefully (FIN after what is queued). */
  close(): void {
    this.fail(new H2Error('connection closed by the client', 'unavailable'), false);
    this.transport.end();
  }

  private fail(err: H2Error, destroy = true): void {
    if (this.dead) return;
    this.dead = err;
    const handlers = [...this.streams.values()];
    this.streams.clear();
    this.outgoing.clear();
    this.transport.awaiting?.(false);
    for (const h of handlers) h.end(err);
    if (destroy) this.transport.destroy();
  }

  private receive(chunk: Buffer): void {
    this.inbox = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    while (this.inbox.length >= 9 && !this.dead) {
      const len = this.inbox.readUIntBE(0, 3);
      if (this.inbox.length < 9 + len) return;
      const type = this.inbox.readUInt8(3);
      const flags = this.inbox.readUInt8(4);
      const stream = this.inbox.readUInt32BE(5) & 0x7fffffff;
      const payload = this.inbox.subarray(9, 9 + len);
      this.inbox = this.inbox.subarray(9 + len);
      try {
        this.onFrame(type, flags, stream, payload);
      } catch (e) {
        this.fail(new H2Error(`HTTP/2 protocol error: ${(e as Error).message}`, 'protocol'));
      }
    }
  }

  private onFrame(type: number, flags: number, stream: number, payload: Buffer): void {
    if (this.pending && type !== Type.CONTINUATION) throw new Error('expected CONTINUATION');
    checkFrameSize(type, flags, payload.length);
    switch (type) {
      case Type.DATA: {
        this.topUp(payload.length);
        const h = this.streams.get(stream);
        if (h) h.data(unpad(payload, flags));
        if (flags & END_STREAM) this.finish(stream);
        return;
      }
      case Type.WINDOW_UPDATE: {
        if (payload.length !== 4) throw new Error('WINDOW_UPDATE of a wrong size');
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (inc === 0) throw new Error('WINDOW_UPDATE of 0');
        if (stream === 0) {
          this.sendWindow += inc;
          if (this.sendWindow > MAX_WINDOW) throw new Error('connection window over 2^31-1');
        } else {
          const out = this.outgoing.get(stream);
          if (!out) return; // a stream already sent in full (or closed)
          out.window += inc;
          if (out.window > MAX_WINDOW) throw new Error('stream window over 2^31-1');
        }
        this.flush();
        return;
      }
      case Type.HEADERS: {
        let block = unpad(payload, flags);
        if (flags & PRIORITY) block = block.subarray(5);
        this.pending = { stream, endStream: (flags & END_STREAM) !== 0, parts: [block] };
        if (flags & END_HEADERS) this.headerBlockDone();
        return;
      }
      case Type.CONTINUATION:
        if (!this.pending || this.pending.stream !== stream) throw new Error('unexpected CONTINUATION');
        this.pending.parts.push(payload);
        if (flags & END_HEADERS) this.headerBlockDone();
        return;
      case Type.RST_STREAM: {
        const h = this.streams.get(stream);
        this.streams.delete(stream);
        this.outgoing.delete(stream);
        this.transport.awaiting?.(this.streams.size > 0);
        const code = payload.readUInt32BE(0);
        h?.end(new H2Error(`stream reset by the server (HTTP/2 error ${code})`, 'reset', code));
        return;
      }
      case Type.SETTINGS:
        if (flags & ACK) return;
        if (payload.length % 6 !== 0) throw new Error('SETTINGS of a wrong size');
        {
          const { maxFrame, initialWindow } = readSettings(payload);
          if (maxFrame !== undefined) this.maxFrame = maxFrame;
          if (initialWindow !== undefined) {
            // RFC 9113 §6.9.2: the change applies to every open stream's window, and may make it negative.
            const delta = initialWindow - this.peerInitialWindow;
            this.peerInitialWindow = initialWindow;
            for (const out of this.outgoing.values()) out.window += delta;
          }
        }
        this.transport.write(frame(Type.SETTINGS, ACK, 0, Buffer.alloc(0)));
        this.flush();
        return;
      case Type.PING:
        if (!(flags & ACK)) this.transport.write(frame(Type.PING, ACK, 0, payload));
        return;
      case Type.GOAWAY: {
        const last = payload.readUInt32BE(0) & 0x7fffffff;
        const refused = new H2Error('the server is going away', 'unavailable');
        for (const [id, h] of this.streams) {
          if (id > last) {
            this.streams.delete(id);
            this.outgoing.delete(id);
            h.end(refused);
          }
        }
        this.transport.awaiting?.(this.streams.size > 0);
        this.goingAway = true;
        return;
      }
      default:
        return; // PRIORITY and unknown frames need nothing from this client
    }
  }

  /** Keeps our connection receive window open: topped up once half of it has been used. */
  private topUp(n: number): void {
    this.received += n;
    if (this.received < MAX_WINDOW / 2) return;
    const inc = Buffer.alloc(4);
    inc.writeUInt32BE(this.received, 0);
    this.received = 0;
    this.transport.write(frame(Type.WINDOW_UPDATE, 0, 0, inc));
  }

  private headerBlockDone(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    // Decoded even for a cancelled stream: the dynamic table must see every block.
    const list = this.decoder.decode(
      p.parts.length === 1 ? (p.parts[0] ?? Buffer.alloc(0)) : Buffer.concat(p.parts),
    );
    this.streams.get(p.stream)?.headers(list, p.endStream);
    if (p.endStream) this.finish(p.stream);
  }

  private finish(stream: number): void {
    const h = this.streams.get(stream);
    this.streams.delete(stream);
    this.outgoing.delete(stream); // a reply before the whole request: nothing more is sent
    this.transport.awaiting?.(this.streams.size > 0);
    h?.end();
  }
}
