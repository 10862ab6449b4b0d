// HTTP/2 framing (RFC 9113 §4, §6) shared by the light client (./h2-connection.ts) and our own server
// (./h2-session.ts): frame types, flags, limits, building a frame, and the checks every received frame gets.

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const enum Type {
  DATA = 0,
  HEADERS = 1,
  PRIORITY = 2,
  RST_STREAM = 3,
  SETTINGS = 4,
  PUSH_PROMISE = 5,
  PING = 6,
  GOAWAY = 7,
  WINDOW_UPDATE = 8,
  CONTINUATION = 9,
}
export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PADDED = 0x8;
export const PRIORITY_FLAG = 0x20;
/** Every peer's frame size until its SETTINGS say otherwise (and the most we accept). */
export const DEFAULT_MAX_FRAME = 16_384;
export const MAX_FRAME_LIMIT = 16_777_215;
export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 2 ** 31 - 1;
export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** HTTP/2 error codes (RFC 9113 §7). */
export const enum ErrorCode {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  INTERNAL_ERROR = 0x2,
  FLOW_CONTROL_ERROR = 0x3,
  STREAM_CLOSED = 0x5,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  CANCEL = 0x8,
  COMPRESSION_ERROR = 0x9,
  ENHANCE_YOUR_CALM = 0xb,
}

/** A connection error: GOAWAY with `code`, then the socket closes. */
export class ConnectionError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a peer's SETTINGS set that this HTTP/2 acts on; absent when the frame does not set it. */
export interface PeerSettings {
  maxFrame?: number;
  initialWindow?: number;
}

/**
 * A SETTINGS frame's payload (whole 6-byte entries; checkFrameSize checked the length), read and checked as RFC 9113
 * §6.5.2 says, for the client and the server alike. The last entry of a key wins; unknown keys are ignored.
 */
export function readSettings(payload: Buffer): PeerSettings {
  const out: PeerSettings = {};
  for (let at = 0; at + 6 <= payload.length; at += 6) {
    const key = payload.readUInt16BE(at);
    const value = payload.readUInt32BE(at + 2);
    if (key === SETTINGS_MAX_FRAME_SIZE) {
      if (value < DEFAULT_MAX_FRAME || value > MAX_FRAME_LIMIT)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
      out.maxFrame = value;
    } else if (key === SETTINGS_INITIAL_WINDOW_SIZE) {
      if (value > MAX_WINDOW)
        throw new ConnectionError(
          ErrorCode.FLOW_CONTROL_ERROR,
          `SETTINGS_INITIAL_WINDOW_SIZE ${value} over 2^31-1`,
        );
      out.initialWindow = value;
    } else if (key === SETTINGS_ENABLE_PUSH && value > 1) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
    }
  }
  return out;
}

export function frame(type: number, flags: number, stream: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, stream);
  out.set(payload, 9);
  return out;
}

/** A frame header at `at` of `out`. */
export function writeFrameHeader(
  out: Buffer,
  at: number,
  length: number,
  type: number,
  flags: number,
  stream: number,
): void {
  out[at] = (length >>> 16) & 0xff;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(stream, at + 5);
}

/** The payload of a DATA/HEADERS frame without its padding (PROTOCOL_ERROR when the padding does not fit). */
export function unpad(payload: Buffer, flags: number): Buffer {
  if (!(flags & PADDED)) return payload;
  if (payload.length < 1) throw new Error('padded frame without a pad length');
  const pad = payload.readUInt8(0);
  if (pad >= payload.length) throw new Error('padding longer than the frame');
  return payload.subarray(1, payload.length - pad);
}

/** RFC 9113 §6: frames of a fixed size are checked before they are acted on (FRAME_SIZE_ERROR otherwise). */
export function checkFrameSize(type: number, flags: number, len: number): void {
  const ok =
    type === Type.RST_STREAM || type === Type.WINDOW_UPDATE
      ? len === 4
      : type === Type.PING
        ? len === 8
        : type === Type.GOAWAY
          ? len >= 8
          : type === Type.PRIORITY
            ? len === 5
            : type === Type.SETTINGS
              ? len % 6 === 0 && (!(flags & ACK) || len === 0)
              : true;
  if (!ok) throw new Error(`frame of type ${type} with a payload of ${len} bytes (FRAME_SIZE_ERROR)`);
}
