// A unix stream socket driven through libc (koffi) for aws-cni's calls to ipamd. node:net would cost a CNI call
// ~3 ms (loading net and its streams, then a socket's first connect and write, all in cold code); here connect
// and send are plain system calls. No thread is involved, so nothing can delay the process's exit.
//
// Reading: while a reply is awaited (H2Transport.awaiting), each event-loop turn polls the socket for at most
// POLL_SLICE_MS and drains what arrived. The wait for ipamd is thus spent in poll(), and other work queued on the
// loop (aws-cni wires the veth pair meanwhile) runs between slices.
import { ERRNO_NAMES } from '../netlink/errno-names.js';
import { SOCK_CLOEXEC, SOL_SOCKET, loadLibc, type Libc } from '../netlink/ffi.js';
import type { H2Transport, TransportEvents } from './transport.js';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SO_SNDTIMEO = 21;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const POLLIN = 0x1;
const SHUT_WR = 1;
const SHUT_RDWR = 2;
const EINTR = 4;
const EAGAIN = 11;
const SUN_PATH_MAX = 108;
const POLL_SLICE_MS = 20;

function errnoError(syscall: string, errno: number, path: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES[errno] ?? `E${errno}`;
  const e: NodeJS.ErrnoException = new Error(`${syscall} ${code} ${path}`);
  Object.assign(e, { code, errno: -errno, syscall, address: path });
  return e;
}

function sockaddrUn(path: string): Buffer {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length >= SUN_PATH_MAX) throw new Error(`unix socket path longer than 107 bytes: ${path}`);
  const addr = Buffer.alloc(2 + bytes.length + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
  return addr;
}

/** Connects now (blocking, bounded by `connectTimeoutMs`); failures are reported through the listeners. */
export function ffiUnixTransport(path: string, connectTimeoutMs = 5_000): H2Transport {
  const libc: Libc = loadLibc();
  let events: TransportEvents | undefined;
  let fd = -1;
  let closed = false;
  let awaiting = false;
  let pumping = false;
  let failure: NodeJS.ErrnoException | undefined;

  const finish = (err?: NodeJS.ErrnoException): void => {
    if (closed) return;
    closed = true;
    if (fd >= 0) libc.close(fd);
    fd = -1;
    if (err) events?.error(err);
    events?.close();
  };

  fd = libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) failure = errnoError('socket', libc.errno(), path);
  else {
    // Bounds a connect to a server whose backlog is full, and every send, as the kernel applies SO_SNDTIMEO.
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(BigInt(Math.floor(connectTimeoutMs / 1000)), 0);
    tv.writeBigInt64LE(BigInt((connectTimeoutMs % 1000) * 1000), 8);
    libc.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv, 16);
    let addr: Buffer | undefined;
    try {
      addr = sockaddrUn(path);
    } catch (e) {
      failure = Object.assign(e as Error, { code: 'ENAMETOOLONG' });
    }
    if (addr && libc.connect(fd, addr, addr.length) !== 0)
      failure = errnoError('connect', libc.errno(), path);
  }

  const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  const buf = Buffer.allocUnsafe(64 * 1024);

  /** Reads what is there without blocking; false once the socket is finished. */
  const drain = (): boolean => {
    for (;;) {
      if (closed) return false;
      const n = libc.recv(fd, buf, buf.length, MSG_DONTWAIT);
      if (n > 0) {
        events?.data(Buffer.from(buf.subarray(0, n)));
        continue;
      }
      if (n === 0) {
        finish();
        return false;
      }
      const errno = libc.errno();
      if (errno === EAGAIN) return true;
      if (errno === EINTR) continue;
      finish(errnoError('read', errno, path));
      return false;
    }
  };

  const pump = (): void => {
    pumping = false;
    if (closed || !awaiting) return;
    pfd.writeInt32LE(fd, 0);
    pfd.writeInt16LE(POLLIN, 4);
    pfd.writeInt16LE(0, 6);
    const ready = libc.poll(pfd, 1, POLL_SLICE_MS);
    if (ready < 0 && libc.errno() !== EINTR) return finish(errnoError('poll', libc.errno(), path));
    if (ready > 0 && !drain()) return;
    schedule();
  };
  const schedule = (): void => {
    if (pumping || closed || !awaiting) return;
    pumping = true;
    setImmediate(pump);
  };

  return {
    ready: Promise.resolve(),
    listen(e: TransportEvents): void {
      events = e;
      if (failure) {
        const err = failure;
        queueMicrotask(() => finish(err));
      }
    },
    write(data: Buffer): void {
      if (closed || failure) return;
      let off = 0;
      while (off < data.length) {
        const n = libc.sendto(fd, data.subarray(off), data.length - off, MSG_NOSIGNAL, null, 0);
        if (n < 0) {
          const errno = libc.errno();
          if (errno === EINTR) continue;
          const err = errnoError('write', errno, path);
          queueMicrotask(() => finish(err));
          return;
        }
        off += n;
      }
    },
    end(): void {
      if (closed) return;
      if (fd >= 0) libc.shutdown(fd, SHUT_WR);
      finish();
    },
    destroy(): void {
      if (!closed && fd >= 0) libc.shutdown(fd, SHUT_RDWR);
      finish();
    },
    awaiting(on: boolean): void {
      awaiting = on;
      schedule();
    },
  };
}
