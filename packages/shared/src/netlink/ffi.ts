// libc through koffi: the few system calls netlink and namespaces need. Loaded once, on first use, so importing
// the module costs nothing for code paths that never touch the kernel (e.g. the plugin's VERSION command).
import koffi from 'koffi';

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, alen: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  poll(fds: Buffer, nfds: number, timeoutMs: number): number;
  shutdown(fd: number, how: number): number;
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number;
  getsockname(fd: number, addr: Buffer, len: Buffer): number;
  close(fd: number): number;
  open(path: string, flags: number): number;
  setns(fd: number, nstype: number): number;
  mount(source: string, target: string, fstype: string, flags: number, data: string | null): number;
  /** errno of the last failed call on this thread. */
  errno(): number;
}

let libc: Libc | undefined;

export function loadLibc(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  // koffi returns untyped functions; each signature below is the C prototype it is cast to.
  const fn = <T>(sig: string): T => lib.func(sig) as T;
  libc = {
    socket: fn('int socket(int, int, int)'),
    bind: fn('int bind(int, const void *, uint32_t)'),
    sendto: fn('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recv: fn('intptr_t recv(int, _Out_ void *, size_t, int)'),
    connect: fn('int connect(int, const void *, uint32_t)'),
    poll: fn('int poll(_Inout_ void *, unsigned long, int)'),
    shutdown: fn('int shutdown(int, int)'),
    setsockopt: fn('int setsockopt(int, int, int, const void *, uint32_t)'),
    getsockname: fn('int getsockname(int, _Out_ void *, _Inout_ void *)'),
    close: fn('int close(int)'),
    open: fn('int open(const char *, int)'),
    setns: fn('int setns(int, int)'),
    mount: fn('int mount(const char *, const char *, const char *, unsigned long, const char *)'),
    errno: () => koffi.errno(),
  };
  return libc;
}

export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_ROUTE = 0;
export const SOL_SOCKET = 1;
export const SO_RCVTIMEO = 20;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;
export const O_RDONLY = 0;
export const O_CLOEXEC = 0o2000000;
export const CLONE_NEWNET = 0x40000000;
