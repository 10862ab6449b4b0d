// libbpf1 (Debian libbpf.so.1) through koffi: the few calls the datapath needs, behind typed wrappers.
// Loaded once, on first use. libbpf 1.x conventions: int-returning calls give -errno; pointer-returning calls
// give NULL and set errno. koffi pointers are opaque values: they never leave this module's classes.
import koffi from 'koffi';
import { DatapathError, type DatapathErrorCode } from './errors.js';

type Ptr = unknown; // an opaque koffi pointer (struct bpf_object *, ...); never null once wrapped

export interface LibbpfFns {
  open(path: string, opts: null): Ptr;
  load(obj: Ptr): number;
  close(obj: Ptr): void;
  findMap(obj: Ptr, name: string): Ptr;
  nextMap(obj: Ptr, prev: Ptr): Ptr;
  mapName(map: Ptr): string;
  setPinPath(map: Ptr, path: string): number;
  setMaxEntries(map: Ptr, n: number): number;
  setInitialValue(map: Ptr, data: Buffer, size: number): number;
  mapFd(map: Ptr): number;
  mapKeySize(map: Ptr): number;
  mapValueSize(map: Ptr): number;
  mapMaxEntries(map: Ptr): number;
  mapType(map: Ptr): number;
  findProg(obj: Ptr, name: string): Ptr;
  progFd(prog: Ptr): number;
  objGet(path: string): number;
  objPin(fd: number, path: string): number;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: bigint): number;
  mapLookup(fd: number, key: Buffer, value: Buffer): number;
  mapDelete(fd: number, key: Buffer): number;
  mapNextKey(fd: number, key: Buffer | null, next: Buffer): number;
  objInfo(fd: number, info: Buffer, len: Buffer): number;
  progNextId(start: number, next: Buffer): number;
  mapNextId(start: number, next: Buffer): number;
  progFdById(id: number): number;
  enableStats(type: number): number;
  mapFdById(id: number): number;
  tcHookCreate(hook: Buffer): number;
  tcAttach(hook: Buffer, opts: Buffer): number;
  tcQuery(hook: Buffer, opts: Buffer): number;
  tcDetach(hook: Buffer, opts: Buffer): number;
  ifNameToIndex(name: string): number;
  close_fd(fd: number): number;
  errno(): number;
}

/** Struct sizes libbpf 1.1 expects on x86-64 / arm64 (`sz` fields are checked by libbpf itself too). */
export const BPF_TC_HOOK_SIZE = 24;
export const BPF_TC_OPTS_SIZE = 32;
export const BPF_TC_INGRESS = 1;
export const BPF_TC_EGRESS = 2;
export const BPF_TC_F_REPLACE = 1;
export const BPF_ANY = 0n;
export const BPF_NOEXIST = 1n;

const LIBBPF_INFO = 1; // enum libbpf_print_level: 0 WARN, 1 INFO, 2 DEBUG
let fns: LibbpfFns | undefined;
/** Lines libbpf printed since the last `takeLog()` (its print callback; warnings and verifier logs). */
let logLines: string[] = [];
let printCb: unknown;

export function libbpf(): LibbpfFns {
  if (fns) return fns;
  let lib: ReturnType<typeof koffi.load>;
  let libc: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libbpf.so.1');
    libc = koffi.load('libc.so.6');
  } catch (e) {
    throw new DatapathError('LIBBPF_MISSING', `cannot load libbpf.so.1 (${(e as Error).message})`);
  }
  const hook = koffi.struct('npa_bpf_tc_hook', {
    sz: 'size_t',
    ifindex: 'int',
    attach_point: 'int',
    parent: 'uint32_t',
  });
  const opts = koffi.struct('npa_bpf_tc_opts', {
    sz: 'size_t',
    prog_fd: 'int',
    flags: 'uint32_t',
    prog_id: 'uint32_t',
    handle: 'uint32_t',
    priority: 'uint32_t',
  });
  if (koffi.sizeof(hook) !== BPF_TC_HOOK_SIZE || koffi.sizeof(opts) !== BPF_TC_OPTS_SIZE)
    throw new DatapathError(
      'LIBBPF_MISSING',
      `unexpected libbpf struct sizes on this platform: bpf_tc_hook ${koffi.sizeof(hook)} (want ${BPF_TC_HOOK_SIZE}), bpf_tc_opts ${koffi.sizeof(opts)} (want ${BPF_TC_OPTS_SIZE})`,
    );
  // koffi returns untyped functions; each signature below is the C prototype it is cast to.
  const fn = <T>(l: typeof lib, sig: string): T => l.func(sig) as T;
  koffi.opaque('bpf_object');
  koffi.opaque('bpf_map');
  koffi.opaque('bpf_program');
  const vsnprintf = fn<(b: Buffer, n: number, f: string, ap: Ptr) => number>(
    libc,
    'int vsnprintf(void *buf, size_t n, const char *fmt, void *ap)',
  );
  // va_list is passed as a pointer on x86-64 and arm64 (an array / struct by reference).
  const printProto = koffi.proto('int npa_libbpf_print(int level, const char *fmt, void *ap)');
  const setPrint = fn<(cb: unknown) => unknown>(lib, 'void *libbpf_set_print(npa_libbpf_print *fn)');
  const line = Buffer.alloc(4096);
  printCb = koffi.register((level: number, fmt: string, ap: Ptr) => {
    if (level > LIBBPF_INFO) return 0; // debug lines (one per ELF section, ...) cost time and say little
    const n = vsnprintf(line, line.length, fmt, ap);
    const text = line.subarray(0, Math.max(0, Math.min(n, line.length - 1))).toString('utf8');
    for (const l of text.split('\n')) if (l.trim()) logLines.push(l.trimEnd());
    if (logLines.length > 400) logLines = logLines.slice(-200);
    return 0;
  }, koffi.pointer(printProto));
  setPrint(printCb);
  fns = {
    open: fn(lib, 'bpf_object *bpf_object__open_file(const char *path, void *opts)'),
    load: fn(lib, 'int bpf_object__load(bpf_object *obj)'),
    close: fn(lib, 'void bpf_object__close(bpf_object *obj)'),
    findMap: fn(lib, 'bpf_map *bpf_object__find_map_by_name(bpf_object *obj, const char *name)'),
    nextMap: fn(lib, 'bpf_map *bpf_object__next_map(bpf_object *obj, bpf_map *map)'),
    mapName: fn(lib, 'const char *bpf_map__name(bpf_map *map)'),
    setPinPath: fn(lib, 'int bpf_map__set_pin_path(bpf_map *map, const char *path)'),
    setMaxEntries: fn(lib, 'int bpf_map__set_max_entries(bpf_map *map, uint32_t n)'),
    setInitialValue: fn(lib, 'int bpf_map__set_initial_value(bpf_map *map, const void *data, size_t size)'),
    mapFd: fn(lib, 'int bpf_map__fd(bpf_map *map)'),
    mapKeySize: fn(lib, 'uint32_t bpf_map__key_size(bpf_map *map)'),
    mapValueSize: fn(lib, 'uint32_t bpf_map__value_size(bpf_map *map)'),
    mapMaxEntries: fn(lib, 'uint32_t bpf_map__max_entries(bpf_map *map)'),
    mapType: fn(lib, 'int bpf_map__type(bpf_map *map)'),
    findProg: fn(lib, 'bpf_program *bpf_object__find_program_by_name(bpf_object *obj, const char *name)'),
    progFd: fn(lib, 'int bpf_program__fd(bpf_program *prog)'),
    objGet: fn(lib, 'int bpf_obj_get(const char *path)'),
    objPin: fn(lib, 'int bpf_obj_pin(int fd, const char *path)'),
    mapUpdate: fn(lib, 'int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
    mapLookup: fn(lib, 'int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
    mapDelete: fn(lib, 'int bpf_map_delete_elem(int fd, const void *key)'),
    mapNextKey: fn(lib, 'int bpf_map_get_next_key(int fd, const void *key, void *next)'),
    objInfo: fn(lib, 'int bpf_obj_get_info_by_fd(int fd, void *info, void *len)'),
    progNextId: fn(lib, 'int bpf_prog_get_next_id(uint32_t start, void *next)'),
    mapNextId: fn(lib, 'int bpf_map_get_next_id(uint32_t start, void *next)'),
    progFdById: fn(lib, 'int bpf_prog_get_fd_by_id(uint32_t id)'),
    enableStats: fn(lib, 'int bpf_enable_stats(int type)'),
    mapFdById: fn(lib, 'int bpf_map_get_fd_by_id(uint32_t id)'),
    tcHookCreate: fn(lib, 'int bpf_tc_hook_create(void *hook)'),
    tcAttach: fn(lib, 'int bpf_tc_attach(void *hook, void *opts)'),
    tcQuery: fn(lib, 'int bpf_tc_query(void *hook, void *opts)'),
    tcDetach: fn(lib, 'int bpf_tc_detach(void *hook, void *opts)'),
    ifNameToIndex: fn(libc, 'unsigned int if_nametoindex(const char *name)'),
    close_fd: fn(libc, 'int close(int fd)'),
    errno: () => koffi.errno(),
  };
  return fns;
}

/** Takes (and clears) the lines libbpf printed since the last call. */
export function takeLog(): string[] {
  const l = logLines;
  logLines = [];
  return l;
}

/** Throws a DatapathError when an int-returning libbpf call failed (-errno). */
export function check(rc: number, code: DatapathErrorCode, what: string): number {
  if (rc < 0) throw new DatapathError(code, what, -rc, takeLog());
  return rc;
}

/** The address of a koffi pointer, for null checks. */
export const isNull = (p: Ptr): boolean => p === null || p === undefined || koffi.address(p) === 0n;

export function tcHook(ifindex: number, attachPoint: number): Buffer {
  const b = Buffer.alloc(BPF_TC_HOOK_SIZE);
  b.writeBigUInt64LE(BigInt(BPF_TC_HOOK_SIZE), 0);
  b.writeInt32LE(ifindex, 8);
  b.writeInt32LE(attachPoint, 12);
  return b;
}

export function tcOpts(progFd: number, flags: number, handle: number, priority: number): Buffer {
  const b = Buffer.alloc(BPF_TC_OPTS_SIZE);
  b.writeBigUInt64LE(BigInt(BPF_TC_OPTS_SIZE), 0);
  b.writeInt32LE(progFd, 8);
  b.writeUInt32LE(flags, 12);
  b.writeUInt32LE(handle, 20);
  b.writeUInt32LE(priority, 24);
  return b;
}

export const tcOptsProgId = (b: Buffer): number => b.readUInt32LE(16);
