// One eBPF object file opened and loaded by libbpf, with its maps pinned (or reused from pins), and fd-level
// helpers over maps and programs. Everything that touches a koffi pointer stays in this file and libbpf.ts.
import { closeSync, existsSync, openSync } from 'node:fs';
import { BPF_ANY, check, isNull, libbpf, takeLog } from './libbpf.js';
import { DatapathError } from './errors.js';

export interface MapSpec {
  /** Expected key/value sizes (layout.ts); a mismatch means the object does not match this code. */
  keySize: number;
  valueSize: number;
  pinPath: string;
  maxEntries?: number;
}

export interface LoadSpec {
  path: string;
  maps: Record<string, MapSpec>;
  /** Contents of the `.rodata` section to set before load (the object's `npa_meta`). */
  rodata?: Buffer;
}

export interface LoadedObject {
  /** fd of each named program (valid until close()). */
  progFds: Record<string, number>;
  /** fd of each named map. */
  mapFds: Record<string, number>;
  close(): void;
}

/** Opens, configures (pins, sizes, read-only data) and loads an object file. Maps with an existing pin are
 * reused by libbpf (it refuses a pin whose type, sizes, max entries or flags differ). */
export function loadObject(spec: LoadSpec, programs: readonly string[]): LoadedObject {
  const l = libbpf();
  if (!existsSync(spec.path)) throw new DatapathError('OBJECT_MISSING', `eBPF object ${spec.path} not found`);
  closeSync(openSync(spec.path, 'r')); // a readable file, or a clear fs error
  takeLog();
  const obj = l.open(spec.path, null);
  if (isNull(obj))
    throw new DatapathError('OBJECT_INVALID', `libbpf cannot open ${spec.path}`, l.errno(), takeLog());
  let loaded = false;
  try {
    for (const [name, m] of Object.entries(spec.maps)) {
      const map = l.findMap(obj, name);
      if (isNull(map)) throw new DatapathError('OBJECT_INVALID', `${spec.path} has no map ${name}`);
      const ks = l.mapKeySize(map);
      const vs = l.mapValueSize(map);
      if (ks !== m.keySize || vs !== m.valueSize)
        throw new DatapathError(
          'OBJECT_INVALID',
          `${spec.path}: map ${name} has key/value sizes ${ks}/${vs}, this agent expects ${m.keySize}/${m.valueSize} (object and agent versions differ)`,
        );
      if (m.maxEntries !== undefined)
        check(
          l.setMaxEntries(map, m.maxEntries),
          'OBJECT_INVALID',
          `${spec.path}: set max entries of ${name}`,
        );
      check(l.setPinPath(map, m.pinPath), 'OBJECT_INVALID', `${spec.path}: set pin path of ${name}`);
    }
    if (spec.rodata) {
      let ro: unknown = null;
      for (let m = l.nextMap(obj, null); !isNull(m); m = l.nextMap(obj, m))
        if (l.mapName(m).endsWith('.rodata')) ro = m;
      if (ro === null) throw new DatapathError('OBJECT_INVALID', `${spec.path} has no .rodata section`);
      if (l.mapValueSize(ro) !== spec.rodata.length)
        throw new DatapathError(
          'OBJECT_INVALID',
          `${spec.path}: .rodata is ${l.mapValueSize(ro)} bytes, expected ${spec.rodata.length} (npa_meta only)`,
        );
      check(l.setInitialValue(ro, spec.rodata, spec.rodata.length), 'OBJECT_INVALID', 'set .rodata');
    }
    const rc = l.load(obj);
    if (rc < 0)
      throw new DatapathError('LOAD_FAILED', `bpf_object__load(${spec.path}) failed`, -rc, takeLog());
    loaded = true;
    const progFds: Record<string, number> = {};
    for (const p of programs) {
      const prog = l.findProg(obj, p);
      if (isNull(prog)) throw new DatapathError('OBJECT_INVALID', `${spec.path} has no program ${p}`);
      progFds[p] = l.progFd(prog);
    }
    const mapFds: Record<string, number> = {};
    for (const name of Object.keys(spec.maps)) mapFds[name] = l.mapFd(l.findMap(obj, name));
    return { progFds, mapFds, close: () => l.close(obj) };
  } catch (e) {
    l.close(obj);
    void loaded;
    throw e;
  }
}

/** Opens a pinned object (map, program); -1 when there is no pin. */
export function openPin(path: string): number {
  const l = libbpf();
  const fd = l.objGet(path);
  if (fd >= 0) return fd;
  if (!existsSync(path)) return -1;
  throw new DatapathError('MAP_OP_FAILED', `bpf_obj_get(${path}) failed`, -fd || l.errno());
}

export function pinFd(fd: number, path: string): void {
  check(libbpf().objPin(fd, path), 'MAP_OP_FAILED', `bpf_obj_pin(${path})`);
}

export const closeFd = (fd: number): void => {
  if (fd >= 0) libbpf().close_fd(fd);
};

export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

export interface ProgInfo {
  type: number;
  id: number;
  name: string;
  mapIds: number[];
}

export function mapInfo(fd: number): MapInfo {
  const b = Buffer.alloc(256);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length, 0);
  check(libbpf().objInfo(fd, b, len), 'MAP_OP_FAILED', 'bpf_obj_get_info_by_fd(map)');
  return {
    type: b.readUInt32LE(0),
    id: b.readUInt32LE(4),
    keySize: b.readUInt32LE(8),
    valueSize: b.readUInt32LE(12),
    maxEntries: b.readUInt32LE(16),
    flags: b.readUInt32LE(20),
    name: cstr(b.subarray(24, 40)),
  };
}

// struct bpf_prog_info offsets (uapi, stable): type 0, id 4, nr_map_ids 52, map_ids 56 (u64 pointer), name 64.
export function progInfo(fd: number): ProgInfo {
  const l = libbpf();
  const first = Buffer.alloc(256);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(first.length, 0);
  check(l.objInfo(fd, first, len), 'MAP_OP_FAILED', 'bpf_obj_get_info_by_fd(prog)');
  const nMaps = first.readUInt32LE(52);
  const ids = Buffer.alloc(Math.max(4, nMaps * 4));
  const second = Buffer.alloc(256);
  second.writeUInt32LE(nMaps, 52);
  second.writeBigUInt64LE(koffiAddress(ids), 56);
  len.writeUInt32LE(second.length, 0);
  check(l.objInfo(fd, second, len), 'MAP_OP_FAILED', 'bpf_obj_get_info_by_fd(prog map ids)');
  const n = Math.min(nMaps, second.readUInt32LE(52));
  return {
    type: first.readUInt32LE(0),
    id: first.readUInt32LE(4),
    name: cstr(first.subarray(64, 80)),
    mapIds: Array.from({ length: n }, (_, i) => ids.readUInt32LE(i * 4)),
  };
}

import koffi from 'koffi';
const koffiAddress = (b: Buffer): bigint => koffi.address(b);

const cstr = (b: Buffer): string => {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
};

export function mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | undefined {
  const v = Buffer.alloc(valueSize);
  const rc = libbpf().mapLookup(fd, key, v);
  if (rc === -2) return undefined; // ENOENT
  check(rc, 'MAP_OP_FAILED', 'bpf_map_lookup_elem');
  return v;
}

export function mapUpdate(fd: number, key: Buffer, value: Buffer, flags: bigint = BPF_ANY): number {
  return libbpf().mapUpdate(fd, key, value, flags);
}

export function mapDelete(fd: number, key: Buffer): number {
  return libbpf().mapDelete(fd, key);
}

/** Every key of a map (a snapshot; entries may change meanwhile). */
export function mapKeys(fd: number, keySize: number): Buffer[] {
  const l = libbpf();
  const out: Buffer[] = [];
  let prev: Buffer | null = null;
  for (;;) {
    const next = Buffer.alloc(keySize);
    const rc = l.mapNextKey(fd, prev, next);
    if (rc === -2) return out; // ENOENT: end
    check(rc, 'MAP_OP_FAILED', 'bpf_map_get_next_key');
    out.push(next);
    prev = next;
  }
}

export function nextIds(kind: 'prog' | 'map'): number[] {
  const l = libbpf();
  const out: number[] = [];
  const b = Buffer.alloc(4);
  let id = 0;
  for (;;) {
    const rc = kind === 'prog' ? l.progNextId(id, b) : l.mapNextId(id, b);
    if (rc < 0) return out;
    id = b.readUInt32LE(0);
    out.push(id);
  }
}

export function fdById(kind: 'prog' | 'map', id: number): number {
  const l = libbpf();
  const fd = kind === 'prog' ? l.progFdById(id) : l.mapFdById(id);
  return check(fd, 'MAP_OP_FAILED', `bpf_${kind}_get_fd_by_id(${id})`);
}
