// The gRPC-over-HTTP/2 rules the server side needs, as pure functions (see packages/shared/README.md#rpc-server): the grpc-timeout header,
// grpc-message percent-encoding, and the length-prefixed message framing of a request body.
import { GrpcStatus } from './status.js';

/**
 * The largest message accepted or sent: gRPC's default limit (grpc-go, grpc-js, so upstream's ipamd too).
 * The light client refuses the same size before sending (./client.ts).
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * `grpc-timeout` (1 to 8 digits and a unit H M S m u n) in milliseconds; undefined when absent, an Error when
 * malformed (the call then fails with INTERNAL, as grpc-go does).
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined | Error {
  if (value === undefined) return undefined;
  // 1-8 ASCII digits and a unit, read without a regular expression (no match array on every call).
  const n = value.length;
  const unit =
    n >= 2 && n <= 9 && Object.hasOwn(TIMEOUT_UNIT_MS, value.charAt(n - 1))
      ? (TIMEOUT_UNIT_MS[value.charAt(n - 1)] as number)
      : undefined;
  let amount = 0;
  for (let i = 0; unit !== undefined && i < n - 1; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return new Error(`malformed grpc-timeout ${JSON.stringify(value.slice(0, 20))}`);
    amount = amount * 10 + d;
  }
  if (unit === undefined) return new Error(`malformed grpc-timeout ${JSON.stringify(value.slice(0, 20))}`);
  return amount * unit;
}

/** grpc-message is percent-encoded UTF-8: bytes outside 0x20..0x7e and '%' itself become %XX. */
export function encodeGrpcMessage(text: string): string {
  let plain = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return text;
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** One gRPC message framed for a response body: flag 0 (not compressed), 4-byte big-endian length, bytes. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** A failed call as the server reports it: a gRPC status code and its message. */
export interface CallFailure {
  readonly code: number;
  readonly details: string;
}

/**
 * The one message of a unary request body (every DATA frame of the stream, concatenated), or why not: a unary
 * method takes exactly one uncompressed message of at most MAX_MESSAGE_BYTES. `encoding` is grpc-encoding.
 */
export function unaryMessage(body: Buffer, encoding: string | undefined): Uint8Array | CallFailure {
  if (body.length < 5) {
    return {
      code: body.length === 0 ? GrpcStatus.UNIMPLEMENTED : GrpcStatus.INTERNAL,
      details:
        body.length === 0
          ? 'the request carried no message (a unary method takes exactly one)'
          : `a truncated gRPC message frame of ${body.length} bytes`,
    };
  }
  const flag = body[0];
  const len = body.readUInt32BE(1);
  if (len > MAX_MESSAGE_BYTES) {
    return {
      code: GrpcStatus.RESOURCE_EXHAUSTED,
      details: `received message larger than max (${len} vs. ${MAX_MESSAGE_BYTES})`,
    };
  }
  if (flag === 1) {
    return encoding === undefined || encoding === 'identity'
      ? { code: GrpcStatus.INTERNAL, details: 'compressed flag set with no grpc-encoding' }
      : {
          code: GrpcStatus.UNIMPLEMENTED,
          details: `grpc-encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported (identity only)`,
        };
  }
  if (flag !== 0) return { code: GrpcStatus.INTERNAL, details: `invalid message flag ${flag}` };
  if (body.length < 5 + len) {
    return {
      code: GrpcStatus.INTERNAL,
      details: `a truncated gRPC message: ${body.length - 5} of ${len} bytes`,
    };
  }
  if (body.length > 5 + len) {
    return { code: GrpcStatus.UNIMPLEMENTED, details: 'more than one message for a unary method' };
  }
  return body.subarray(5);
}
