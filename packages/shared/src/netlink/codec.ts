// Pure rtnetlink message codec (no I/O): netlink headers, route attributes (with nesting), error/ACK messages,
// and route/rule messages. Host byte order is little-endian on every platform we ship for (x86_64, arm64).

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
export const RTM_GETRULE = 34;

export const AF_INET = 2;
export const AF_INET6 = 10;

const NLMSG_HDRLEN = 16;

/** Bytes from the kernel that do not decode: a length past the end, a header or attribute too short. */
export class NetlinkDecodeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(`netlink: ${message}`, options);
    this.name = 'NetlinkDecodeError';
  }
}

/**
 * Runs a payload decoder: a payload shorter than its fixed header, or an attribute shorter than the value read
 * from it (Buffer's RangeError), becomes a NetlinkDecodeError naming the message kind.
 */
export function decoding<T>(what: string, payload: Buffer, headerLen: number, fn: () => T): T {
  if (payload.length < headerLen)
    throw new NetlinkDecodeError(
      `${what} of ${payload.length} bytes, shorter than its ${headerLen}-byte header`,
    );
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError) throw new NetlinkDecodeError(`${what}: ${e.message}`, { cause: e });
    throw e;
  }
}
const align4 = (n: number): number => (n + 3) & ~3;

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

export function encodeMessage(m: NlMessage): Buffer {
  const len = NLMSG_HDRLEN + m.payload.length;
  const out = Buffer.alloc(align4(len));
  out.writeUInt32LE(len, 0);
  out.writeUInt16LE(m.type, 4);
  out.writeUInt16LE(m.flags, 6);
  out.writeUInt32LE(m.seq, 8);
  out.writeUInt32LE(m.pid, 12);
  m.payload.copy(out, NLMSG_HDRLEN);
  return out;
}

/** Splits a datagram into messages; throws on a truncated or malformed header. */
export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length)
      throw new NetlinkDecodeError(`malformed message length ${len} at ${off}`);
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

export interface Attr {
  type: number;
  value: Buffer;
}

export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const len = 4 + a.value.length;
    const b = Buffer.alloc(align4(len));
    b.writeUInt16LE(len, 0);
    b.writeUInt16LE(a.type, 2);
    a.value.copy(b, 4);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** Decodes a run of attributes. The NLA_F_NESTED / NLA_F_NET_BYTEORDER bits are masked off the type. */
export function decodeAttrs(buf: Buffer): Attr[] {
  const out: Attr[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length)
      throw new NetlinkDecodeError(`malformed attribute length ${len} at ${off}`);
    out.push({ type: buf.readUInt16LE(off + 2) & 0x3fff, value: buf.subarray(off + 4, off + len) });
    off += align4(len);
  }
  return out;
}

export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
};
export const nested = (attrs: readonly Attr[]): Buffer => encodeAttrs(attrs);
export const cstring = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);

export interface NetlinkErrorReply {
  /** 0 for an ACK, otherwise a positive errno. */
  errno: number;
  /** Kernel's extended-ACK text, when present. */
  message?: string;
}

/** Parses the payload of an NLMSG_ERROR message (errno + the echoed request header + optional TLVs). */
export function decodeError(msg: NlMessage): NetlinkErrorReply {
  return decoding('NLMSG_ERROR', msg.payload, 4, () => decodeErrorPayload(msg));
}

function decodeErrorPayload(msg: NlMessage): NetlinkErrorReply {
  const raw = msg.payload.readInt32LE(0);
  const errno = raw === 0 ? 0 : -raw; // the kernel sends -errno; avoid -0 for an ACK
  if (!(msg.flags & NLM_F_ACK_TLVS)) return { errno };
  // With NETLINK_CAP_ACK unset the whole request is echoed when errno != 0; the TLVs follow it.
  const echoedLen = msg.payload.length >= 20 ? msg.payload.readUInt32LE(4) : 0;
  const capped = (msg.flags & 0x100) !== 0; // NLM_F_CAPPED: only the request header was echoed
  const tlvStart = 4 + (capped || errno === 0 ? NLMSG_HDRLEN : align4(echoedLen));
  if (tlvStart > msg.payload.length) return { errno };
  const text = decodeAttrs(msg.payload.subarray(tlvStart)).find((a) => a.type === NLMSGERR_ATTR_MSG);
  return text ? { errno, message: text.value.toString('utf8').replace(/\0+$/, '') } : { errno };
}

export function encodeErrorForTest(errno: number, request: NlMessage, extAck?: string): NlMessage {
  const echoed = encodeMessage(request).subarray(0, NLMSG_HDRLEN);
  const head = Buffer.alloc(4);
  head.writeInt32LE(-errno, 0);
  const tlvs =
    extAck !== undefined
      ? encodeAttrs([{ type: NLMSGERR_ATTR_MSG, value: cstring(extAck) }])
      : Buffer.alloc(0);
  return {
    type: NLMSG_ERROR,
    flags: (extAck !== undefined ? NLM_F_ACK_TLVS : 0) | 0x100,
    seq: request.seq,
    pid: 0,
    payload: Buffer.concat([head, echoed, tlvs]),
  };
}
