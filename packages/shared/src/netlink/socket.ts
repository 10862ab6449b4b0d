// One NETLINK_ROUTE socket, bound in the namespace that was current when it was opened (a netlink socket keeps
// its namespace for life). Requests are synchronous: rtnetlink answers in the same system call path, and a
// receive timeout turns a missing answer into an error instead of a hang.
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_ROUTE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVTIMEO,
  loadLibc,
  type Libc,
} from './ffi.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  decodeError,
  decodeMessages,
  encodeMessage,
  type NlMessage,
} from './codec.js';
import { NetlinkError } from './errors.js';
import { type NetnsRef, withNetns } from './netns.js';

const RECV_BUF = 1 << 20;
const RECV_TIMEOUT_S = 10;
const EAGAIN = 11;

export interface RequestContext {
  /** Operation name and arguments, carried into any NetlinkError. */
  readonly op: string;
  readonly args: Readonly<Record<string, unknown>>;
}

export class NetlinkSocket {
  private readonly libc: Libc;
  private fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly rx = Buffer.alloc(RECV_BUF);

  /**
   * Opens a socket in the current namespace, or in `netns` when given. `protocol` defaults to NETLINK_ROUTE;
   * the network policy agent also uses NETLINK_NETFILTER (12) to read the conntrack table.
   */
  static open(netns?: NetnsRef, protocol = NETLINK_ROUTE): NetlinkSocket {
    return netns === undefined
      ? new NetlinkSocket(protocol)
      : withNetns(netns, () => new NetlinkSocket(protocol));
  }

  private constructor(protocol: number) {
    this.libc = loadLibc();
    const fd = this.libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw new NetlinkError(this.libc.errno(), 'socket', { family: 'AF_NETLINK' });
    this.fd = fd;
    try {
      const one = Buffer.alloc(4);
      one.writeInt32LE(1, 0);
      // Kernel error text, strict dump filtering, and a capped echo (only the header) in error replies.
      for (const opt of [NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_CAP_ACK])
        this.libc.setsockopt(fd, SOL_NETLINK, opt, one, 4);
      const rcvbuf = Buffer.alloc(4);
      rcvbuf.writeInt32LE(RECV_BUF, 0);
      this.libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, 4);
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(BigInt(RECV_TIMEOUT_S), 0);
      this.libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
      const sa = Buffer.alloc(12);
      sa.writeUInt16LE(AF_NETLINK, 0);
      if (this.libc.bind(fd, sa, 12) !== 0) throw new NetlinkError(this.libc.errno(), 'bind', {});
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    if (this.fd >= 0) this.libc.close(this.fd);
    this.fd = -1;
  }

  private send(type: number, flags: number, payload: Buffer, ctx: RequestContext): number {
    if (this.fd < 0) throw new Error(`netlink socket is closed (${ctx.op})`);
    this.seq = (this.seq + 1) >>> 0;
    const msg = encodeMessage({ type, flags: flags | NLM_F_REQUEST, seq: this.seq, pid: 0, payload });
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(AF_NETLINK, 0);
    const n = this.libc.sendto(this.fd, msg, msg.length, 0, sa, 12);
    if (n < 0) throw new NetlinkError(this.libc.errno(), ctx.op, ctx.args);
    return this.seq;
  }

  private receive(ctx: RequestContext): NlMessage[] {
    const n = this.libc.recv(this.fd, this.rx, this.rx.length, 0);
    if (n < 0) {
      const errno = this.libc.errno();
      throw new NetlinkError(
        errno,
        ctx.op,
        ctx.args,
        errno === EAGAIN ? 'no reply from the kernel' : undefined,
      );
    }
    return decodeMessages(Buffer.from(this.rx.subarray(0, n)));
  }

  /** Sends a change request and waits for its ACK; a kernel refusal becomes a NetlinkError. */
  request(type: number, flags: number, payload: Buffer, ctx: RequestContext): void {
    const seq = this.send(type, flags | NLM_F_ACK, payload, ctx);
    for (;;) {
      for (const m of this.receive(ctx)) {
        if (m.seq !== seq || m.type !== NLMSG_ERROR) continue; // a stale reply from an earlier timed-out call
        const err = decodeError(m);
        if (err.errno !== 0) throw new NetlinkError(err.errno, ctx.op, ctx.args, err.message);
        return;
      }
    }
  }

  /** Sends a dump request and returns every reply payload of type `replyType`. */
  dump(type: number, payload: Buffer, replyType: number, ctx: RequestContext): Buffer[] {
    const seq = this.send(type, NLM_F_DUMP, payload, ctx);
    const out: Buffer[] = [];
    for (;;) {
      for (const m of this.receive(ctx)) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_DONE) return out;
        if (m.type === NLMSG_ERROR) {
          const err = decodeError(m);
          if (err.errno === 0) return out;
          throw new NetlinkError(err.errno, ctx.op, ctx.args, err.message);
        }
        if (m.type === replyType) out.push(m.payload);
      }
    }
  }

  /** Sends a get request for one object and returns its payload. */
  get(type: number, payload: Buffer, replyType: number, ctx: RequestContext): Buffer {
    const seq = this.send(type, 0, payload, ctx);
    for (;;) {
      for (const m of this.receive(ctx)) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_ERROR) {
          const err = decodeError(m);
          throw new NetlinkError(err.errno || 22, ctx.op, ctx.args, err.message);
        }
        if (m.type === replyType) return m.payload;
      }
    }
  }
}
