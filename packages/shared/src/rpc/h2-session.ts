// The server side of one HTTP/2 connection (RFC 9113) on a node:net socket, for the gRPC calls of ./h2-server.ts:
// our own framing instead of node:http2 (the choice and its measurements: docs/architecture.md#decisions, 16).
// It checks the client preface, sends its SETTINGS, reads frames (HPACK through ./hpack.ts), opens a stream per
// request HEADERS and feeds the call its DATA, answers SETTINGS and PING, obeys the client's flow-control windows
// for what it sends, and reopens its own receive windows (the default 65,535 bytes) as the calls take the data:
// a client that writes without waiting (aws-cni's libc transport blocks in send) never has more in flight than a
// socket buffer holds. A protocol error ends the connection with GOAWAY and
// the error code; a stream the client resets, or one over the concurrency limit, ends alone. Replies produced in
// the same turn of the event loop leave in one socket write. A request stream and its send queue: ./h2-stream.ts;
// the preface and the cutting of the byte stream into frames: ./h2-inbound.ts; the frames' way out: ./h2-outbound.ts.
import type { Socket } from 'node:net';
import {
  ACK,
  checkFrameSize,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  END_HEADERS,
  END_STREAM,
  ConnectionError,
  ErrorCode,
  MAX_WINDOW,
  PRIORITY_FLAG,
  readSettings,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  Type,
  unpad,
} from './h2-frames.js';
import { FrameQueue } from './h2-outbound.js';
import { asConnectionError, FrameReader, requestHead } from './h2-inbound.js';
import type { GrpcRouter } from './h2-server.js';
import { Stream, type StreamSession } from './h2-stream.js';
import { HpackDecoder } from './hpack.js';

/** A header block (HEADERS + CONTINUATION) larger than this ends the connection (ENHANCE_YOUR_CALM). */
const MAX_HEADER_BLOCK = 64 * 1024;
/** Our receive windows (connection and stream) are reopened once this much of them has been used. */
const WINDOW_REOPEN = DEFAULT_WINDOW >> 1;
const EMPTY = Buffer.alloc(0);
/** After GOAWAY for an error, the socket is destroyed if the peer has not closed it within this. */
const CLOSE_GRACE_MS = 1_000;

export class H2ServerSession implements StreamSession {
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, Stream>();
  private readonly reader = new FrameReader(
    (type, flags, stream, payload) => this.onFrame(type, flags, stream, payload),
    () => this.dead,
  );
  private settingsSeen = false;
  /** Header block being assembled from HEADERS + CONTINUATION frames. */
  private pending: { stream: number; endStream: boolean; parts: Buffer[]; size: number } | undefined;
  private lastStream = 0;
  private maxFrame = DEFAULT_MAX_FRAME;
  peerInitialWindow = DEFAULT_WINDOW;
  private sendWindow = DEFAULT_WINDOW;
  /** Data received since our connection window was last topped up. */
  private received = 0;
  private readonly outq: FrameQueue;
  /** GOAWAY sent: new streams are refused; the socket closes once the open ones are done. */
  private goingAway = false;
  private dead = false;

  constructor(
    private readonly socket: Socket,
    private readonly router: GrpcRouter,
    private readonly maxStreams: number,
    private readonly onClose: () => void,
  ) {
    this.outq = new FrameQueue(socket, () => this.dead);
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(SETTINGS_MAX_CONCURRENT_STREAMS, 0);
    settings.writeUInt32BE(maxStreams, 2);
    this.send(Type.SETTINGS, 0, 0, settings);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => this.teardown());
    socket.once('close', () => this.teardown());
  }

  /** Graceful stop: GOAWAY(NO_ERROR); open streams finish, then the socket closes. */
  close(): void {
    if (this.dead || this.goingAway) return;
    this.goAway(ErrorCode.NO_ERROR);
    if (this.streams.size === 0) this.endSocket();
  }

  destroy(): void {
    this.socket.destroy();
    this.teardown();
  }

  // ---- sending ----

  private send(type: number, flags: number, id: number, payload: Uint8Array): void {
    this.outq.push(type, flags, id, payload);
  }

  /** HEADERS (+ CONTINUATION when the block exceeds the peer's frame size). */
  headers(id: number, block: Buffer, endStream: boolean): void {
    const flags = endStream ? END_STREAM : 0;
    if (block.length <= this.maxFrame) {
      this.send(Type.HEADERS, flags | END_HEADERS, id, block);
      return;
    }
    for (let at = 0; at < block.length; at += this.maxFrame) {
      const part = block.subarray(at, at + this.maxFrame);
      const last = at + this.maxFrame >= block.length;
      const type = at === 0 ? Type.HEADERS : Type.CONTINUATION;
      this.send(type, (at === 0 ? flags : 0) | (last ? END_HEADERS : 0), id, part);
    }
  }

  /** DATA frames of `chunk` that fit the windows now; returns what does not fit (undefined: all sent). */
  data(s: Stream, chunk: Buffer): Buffer | undefined {
    let rest = chunk;
    while (rest.length > 0) {
      const n = Math.min(rest.length, this.maxFrame, this.sendWindow, s.window);
      if (n <= 0) return rest;
      // The payload is copied when the turn's frames are written; the caller does not reuse `chunk`.
      this.send(Type.DATA, 0, s.id, n === rest.length ? rest : rest.subarray(0, n));
      this.sendWindow -= n;
      s.window -= n;
      rest = rest.subarray(n);
    }
    return undefined;
  }

  reset(id: number, code: ErrorCode): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(code, 0);
    this.send(Type.RST_STREAM, 0, id, p);
  }

  /** Reopens a receive window: `id` 0 is the connection's. */
  private windowUpdate(id: number, n: number): void {
    const inc = Buffer.alloc(4);
    inc.writeUInt32BE(n, 0);
    this.send(Type.WINDOW_UPDATE, 0, id, inc);
  }

  forget(s: Stream): void {
    this.streams.delete(s.id);
    if (this.goingAway && this.streams.size === 0) this.endSocket();
  }

  private goAway(code: ErrorCode): void {
    this.goingAway = true;
    const p = Buffer.alloc(8);
    p.writeUInt32BE(this.lastStream, 0);
    p.writeUInt32BE(code, 4);
    this.send(Type.GOAWAY, 0, 0, p);
  }

  /** Closes the socket once what is queued has been written (FIN; destroyed if the peer lingers). */
  private endSocket(): void {
    process.nextTick(() => {
      if (this.dead) return;
      this.outq.flush();
      this.socket.end();
      setTimeout(() => this.destroy(), CLOSE_GRACE_MS).unref();
    });
  }

  private teardown(): void {
    if (this.dead) return;
    this.dead = true;
    this.outq.clear();
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const s of open) s.reset();
    this.onClose();
  }

  // ---- receiving ----

  private receive(chunk: Buffer): void {
    if (this.dead) return;
    try {
      // Not HTTP/2 at all (e.g. HTTP/1.1): nothing to answer in HTTP/2 terms.
      if (!this.reader.push(chunk)) this.destroy();
    } catch (e) {
      this.connectionError(asConnectionError(e));
    }
  }

  private connectionError(err: ConnectionError): void {
    if (this.dead) return;
    this.reader.clear();
    const p = Buffer.alloc(8);
    p.writeUInt32BE(this.lastStream, 0);
    p.writeUInt32BE(err.code, 4);
    this.goingAway = true;
    this.send(Type.GOAWAY, 0, 0, p);
    this.outq.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    this.teardown(); // nothing more is read or sent
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (!this.settingsSeen) {
      if (type !== Type.SETTINGS || flags & ACK)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'the client preface must start with SETTINGS');
      this.settingsSeen = true;
    }
    if (this.pending && type !== Type.CONTINUATION)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'expected CONTINUATION');
    try {
      checkFrameSize(type, flags, payload.length);
    } catch (e) {
      throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, (e as Error).message);
    }
    switch (type) {
      case Type.DATA: {
        if (id === 0) throw new Error('DATA on stream 0');
        if (id > this.lastStream) throw new Error(`DATA on idle stream ${id}`);
        this.topUp(payload.length);
        const s = this.streams.get(id);
        if (!s || s.remoteEnded) return; // closed or reset: ignored
        const body = unpad(payload, flags);
        if (body.length > 0) s.call?.data(body);
        if (flags & END_STREAM) this.remoteEnd(s);
        else if (!s.closed) {
          s.received += payload.length;
          if (s.received >= WINDOW_REOPEN) {
            this.windowUpdate(id, s.received);
            s.received = 0;
          }
        }
        return;
      }
      case Type.HEADERS: {
        if (id === 0 || id % 2 === 0) throw new Error(`HEADERS on stream ${id}`);
        let block = unpad(payload, flags);
        if (flags & PRIORITY_FLAG) {
          if (block.length < 5) throw new Error('HEADERS too short for its priority');
          block = block.subarray(5);
        }
        this.pending = {
          stream: id,
          endStream: (flags & END_STREAM) !== 0,
          parts: [block],
          size: block.length,
        };
        if (flags & END_HEADERS) this.headerBlockDone();
        return;
      }
      case Type.CONTINUATION: {
        const p = this.pending;
        if (!p || p.stream !== id) throw new Error('unexpected CONTINUATION');
        p.parts.push(payload);
        p.size += payload.length;
        if (p.size > MAX_HEADER_BLOCK)
          throw new ConnectionError(
            ErrorCode.ENHANCE_YOUR_CALM,
            `a header block over ${MAX_HEADER_BLOCK} bytes`,
          );
        if (flags & END_HEADERS) this.headerBlockDone();
        return;
      }
      case Type.PRIORITY:
        if (id === 0) throw new Error('PRIORITY on stream 0');
        return;
      case Type.RST_STREAM: {
        if (id === 0) throw new Error('RST_STREAM on stream 0');
        if (id > this.lastStream) throw new Error(`RST_STREAM on idle stream ${id}`);
        const s = this.streams.get(id);
        if (!s) return;
        this.streams.delete(id);
        s.reset();
        if (this.goingAway && this.streams.size === 0) this.endSocket();
        return;
      }
      case Type.SETTINGS:
        if (id !== 0) throw new Error('SETTINGS on a stream');
        if (flags & ACK) return;
        this.settings(payload);
        this.send(Type.SETTINGS, ACK, 0, EMPTY);
        return;
      case Type.PUSH_PROMISE:
        throw new Error('PUSH_PROMISE from a client');
      case Type.PING:
        if (id !== 0) throw new Error('PING on a stream');
        if (!(flags & ACK)) this.send(Type.PING, ACK, 0, payload);
        return;
      case Type.GOAWAY:
        if (id !== 0) throw new Error('GOAWAY on a stream');
        // The client is leaving: its open calls finish; we close when they are done.
        this.goingAway = true;
        if (this.streams.size === 0) this.endSocket();
        return;
      case Type.WINDOW_UPDATE: {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (inc === 0) throw new Error('WINDOW_UPDATE of 0');
        if (id === 0) {
          this.sendWindow += inc;
          if (this.sendWindow > MAX_WINDOW)
            throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window over 2^31-1');
          for (const s of [...this.streams.values()]) if (s.blocked) s.flush();
          return;
        }
        const s = this.streams.get(id);
        if (!s) return;
        s.window += inc;
        if (s.window > MAX_WINDOW)
          throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'stream window over 2^31-1');
        if (s.blocked) s.flush();
        return;
      }
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  private settings(payload: Buffer): void {
    const { maxFrame, initialWindow } = readSettings(payload);
    if (maxFrame !== undefined) this.maxFrame = maxFrame;
    if (initialWindow !== undefined) {
      // RFC 9113 §6.9.2: the change applies to every open stream's window, and may make it negative.
      const delta = initialWindow - this.peerInitialWindow;
      this.peerInitialWindow = initialWindow;
      for (const s of this.streams.values()) s.window += delta;
    }
    for (const s of [...this.streams.values()]) if (s.blocked) s.flush();
  }

  /** Keeps our connection receive window open: reopened once half of it has been used. */
  private topUp(n: number): void {
    this.received += n;
    if (this.received < WINDOW_REOPEN) return;
    this.windowUpdate(0, this.received);
    this.received = 0;
  }

  private headerBlockDone(): void {
    const p = this.pending as NonNullable<typeof this.pending>;
    this.pending = undefined;
    // Decoded whatever becomes of the stream: the dynamic table must see every block.
    const list = this.decoder.decode(p.parts.length === 1 ? (p.parts[0] as Buffer) : Buffer.concat(p.parts));
    const existing = this.streams.get(p.stream);
    if (existing) {
      // Trailers from the client: they must end the request.
      if (!p.endStream) throw new Error(`a second HEADERS without END_STREAM on stream ${p.stream}`);
      this.remoteEnd(existing);
      return;
    }
    if (p.stream <= this.lastStream) return; // a stream already closed: ignored
    this.lastStream = p.stream;
    const s = new Stream(p.stream, this);
    if (this.goingAway || this.streams.size >= this.maxStreams) {
      const code = Buffer.alloc(4);
      code.writeUInt32BE(ErrorCode.REFUSED_STREAM, 0);
      this.send(Type.RST_STREAM, 0, p.stream, code);
      return;
    }
    this.streams.set(p.stream, s);
    const call = this.router.dispatch(s, requestHead(list));
    if (s.closed) return; // answered at once
    s.call = call;
    if (p.endStream) this.remoteEnd(s);
  }

  private remoteEnd(s: Stream): void {
    if (s.remoteEnded) return;
    s.remoteEnded = true;
    s.call?.received();
  }
}
