// The receiving half of ./h2-session.ts below the frame level: the client preface, then the byte stream cut
// into frames (RFC 9113 §4.1); and what a request's header block is read for. A protocol error is a
// ConnectionError: the session answers it with GOAWAY and its code.
import { ConnectionError, DEFAULT_MAX_FRAME, ErrorCode, PREFACE } from './h2-frames.js';
import { HpackError, type HeaderList } from './hpack.js';

/** Any error from a frame's handling as a connection error (HPACK's as COMPRESSION_ERROR, others PROTOCOL_ERROR). */
export function asConnectionError(e: unknown): ConnectionError {
  return e instanceof ConnectionError
    ? e
    : e instanceof HpackError
      ? new ConnectionError(ErrorCode.COMPRESSION_ERROR, e.message)
      : new ConnectionError(ErrorCode.PROTOCOL_ERROR, (e as Error).message);
}

/**
 * Cuts what the socket delivers into frames: checks the client preface first, then hands each complete frame to
 * `onFrame` (a partial one waits for more bytes). Throws ConnectionError for a frame over the default size;
 * returns false when the bytes are not HTTP/2 at all (nothing to answer in HTTP/2 terms).
 */
export class FrameReader {
  private inbox: Buffer = Buffer.alloc(0);
  private preface = false;

  constructor(
    private readonly onFrame: (type: number, flags: number, stream: number, payload: Buffer) => void,
    private readonly stopped: () => boolean,
  ) {}

  push(chunk: Buffer): boolean {
    this.inbox = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    if (!this.preface) {
      const n = Math.min(this.inbox.length, PREFACE.length);
      if (!this.inbox.subarray(0, n).equals(PREFACE.subarray(0, n))) return false;
      if (this.inbox.length < PREFACE.length) return true;
      this.inbox = this.inbox.subarray(PREFACE.length);
      this.preface = true;
    }
    while (this.inbox.length >= 9 && !this.stopped()) {
      const len = this.inbox.readUIntBE(0, 3);
      if (len > DEFAULT_MAX_FRAME)
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `a frame of ${len} bytes`);
      if (this.inbox.length < 9 + len) break;
      const type = this.inbox[3] as number;
      const flags = this.inbox[4] as number;
      const stream = this.inbox.readUInt32BE(5) & 0x7fffffff;
      const payload = this.inbox.subarray(9, 9 + len);
      this.inbox = this.inbox.subarray(9 + len);
      this.onFrame(type, flags, stream, payload);
    }
    return true;
  }

  /** Drops what is buffered (the connection is being closed for an error). */
  clear(): void {
    this.inbox = Buffer.alloc(0);
  }
}

/** The request headers a call is dispatched on. */
export function requestHead(list: HeaderList) {
  let method: string | undefined;
  let path: string | undefined;
  let contentType: string | undefined;
  let timeout: string | undefined;
  let encoding: string | undefined;
  for (const [name, value] of list) {
    switch (name) {
      case ':method':
        method = value;
        break;
      case ':path':
        path = value;
        break;
      case 'content-type':
        contentType = value;
        break;
      case 'grpc-timeout':
        timeout = value;
        break;
      case 'grpc-encoding':
        encoding = value;
        break;
      default:
        break;
    }
  }
  return { method, path, contentType, timeout, encoding };
}
