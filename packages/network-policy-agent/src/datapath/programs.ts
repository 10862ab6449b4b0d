// Loading or adopting the program pair and per-key maps of one pod key. A pinned program is adopted when it
// came from the same object file (its read-only `npa_meta` holds the object's SHA-256); otherwise a fresh
// instance is loaded (reusing the pinned maps) and its pin is swapped in with a rename, so a restarted or
// upgraded agent never leaves a window without a program.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Direction, Family } from './contract.js';
import {
  closeFd,
  fdById,
  loadObject,
  mapInfo,
  mapLookup,
  openPin,
  pinFd,
  progInfo,
  type LoadSpec,
  type MapSpec,
} from './bpf-object.js';
import { DatapathError } from './errors.js';
import {
  CP_VALUE_SIZE,
  CT_VALUE_SIZE,
  NPA_META_SIZE,
  NP_VALUE_SIZE,
  STATE_KEY_SIZE,
  STATE_VALUE_SIZE,
  ctKeySize,
  encodeMeta,
  trieKeySize,
} from './layout.js';
import { GLOBAL_CONNTRACK, GLOBAL_EVENTS, MAP_NAMES, PROG_NAME, objectFile, type PinLayout } from './pins.js';

export const RINGBUF_BYTES = 524288;

export interface ObjectFiles {
  dir: string;
  /** SHA-256 of each object file's bytes. */
  hash: Record<Direction | 'events', Buffer>;
}

export function readObjects(dir: string, family: Family): ObjectFiles {
  const hash = {} as Record<Direction | 'events', Buffer>;
  for (const what of ['ingress', 'egress', 'events'] as const) {
    const p = join(dir, objectFile(family, what));
    if (!existsSync(p)) throw new DatapathError('OBJECT_MISSING', `eBPF object ${p} not found`);
    hash[what] = createHash('sha256').update(readFileSync(p)).digest();
  }
  return { dir, hash };
}

export function globalMapSpecs(pins: PinLayout, family: Family, ctEntries: number): Record<string, MapSpec> {
  return {
    [GLOBAL_CONNTRACK]: {
      keySize: ctKeySize(family),
      valueSize: CT_VALUE_SIZE,
      pinPath: pins.global(GLOBAL_CONNTRACK),
      maxEntries: ctEntries,
    },
    [GLOBAL_EVENTS]: {
      keySize: 0,
      valueSize: 0,
      pinPath: pins.global(GLOBAL_EVENTS),
      maxEntries: RINGBUF_BYTES,
    },
  };
}

/** Loads the events object (creating and pinning the global maps, or reusing their pins). */
export function ensureGlobals(pins: PinLayout, objs: ObjectFiles, family: Family, ctEntries: number): void {
  if (existsSync(pins.global(GLOBAL_CONNTRACK)) && existsSync(pins.global(GLOBAL_EVENTS))) return;
  const o = loadObject(
    { path: join(objs.dir, objectFile(family, 'events')), maps: globalMapSpecs(pins, family, ctEntries) },
    [],
  );
  o.close();
}

/** The object hash a pinned program carries, or undefined when it has none we can read. */
export function pinnedProgramHash(progFd: number): Buffer | undefined {
  for (const id of progInfo(progFd).mapIds) {
    let fd = -1;
    try {
      fd = fdById('map', id);
      const info = mapInfo(fd);
      if (!info.name.endsWith('.rodata') || info.valueSize !== NPA_META_SIZE) continue;
      const v = mapLookup(fd, Buffer.alloc(4), NPA_META_SIZE);
      return v ? Buffer.from(v.subarray(0, 32)) : undefined;
    } finally {
      closeFd(fd);
    }
  }
  return undefined;
}

/** What libbpf needs to load one direction's object: per-key maps pinned where `mapPin` says, globals reused. */
export function tcLoadSpec(
  pins: PinLayout,
  objs: ObjectFiles,
  family: Family,
  ctEntries: number,
  dir: Direction,
  mapPin: (name: string) => string,
): LoadSpec {
  const names = MAP_NAMES(dir);
  const tk = trieKeySize(family);
  return {
    path: join(objs.dir, objectFile(family, dir)),
    rodata: encodeMeta(objs.hash[dir]),
    maps: {
      ...globalMapSpecs(pins, family, ctEntries),
      [names.np]: { keySize: tk, valueSize: NP_VALUE_SIZE, pinPath: mapPin(names.np) },
      [names.cp]: { keySize: tk, valueSize: CP_VALUE_SIZE, pinPath: mapPin(names.cp) },
      [names.state]: { keySize: STATE_KEY_SIZE, valueSize: STATE_VALUE_SIZE, pinPath: mapPin(names.state) },
    },
  };
}

/**
 * A new key from a pre-loaded pool slot (pool.ts): the slot's pins are renamed to the key's (maps first, the
 * programs last, so a key never has programs without maps) and opened. The key must have no pin at all.
 */
export function keyFromPoolSlot(pins: PinLayout, slot: string, key: string): EnsureResult {
  const created: string[] = [];
  const dirs = {} as Record<Direction, KeyDirection>;
  try {
    for (const dir of ['ingress', 'egress'] as const)
      for (const m of Object.values(MAP_NAMES(dir))) {
        renameSync(pins.poolMap(slot, m), pins.map(key, m));
        created.push(pins.map(key, m));
      }
    for (const dir of ['ingress', 'egress'] as const) {
      renameSync(pins.poolProg(slot, dir), pins.prog(key, dir));
      created.push(pins.prog(key, dir));
    }
    for (const dir of ['ingress', 'egress'] as const) {
      const fd = openPin(pins.prog(key, dir));
      const maps = openMaps(pins, key, dir);
      if (fd < 0 || !maps) {
        closeFd(fd);
        throw new DatapathError('LOAD_FAILED', `pins of ${key} (${dir}) vanished after the pool rename`);
      }
      dirs[dir] = { progFd: fd, progId: progInfo(fd).id, ...maps };
    }
    return { dirs, replaced: { ingress: 0, egress: 0 }, created };
  } catch (e) {
    for (const d of Object.values(dirs)) closeKeyDirection(d);
    for (const p of [...created, ...pins.poolSlotPins(slot)]) rmSync(p, { force: true });
    throw e;
  }
}

export interface KeyDirection {
  progFd: number;
  progId: number;
  npFd: number;
  cpFd: number;
  stateFd: number;
}

export interface EnsureResult {
  dirs: Record<Direction, KeyDirection>;
  /** Per direction: the program id that was pinned before and has been replaced (0 = none replaced). */
  replaced: Record<Direction, number>;
  /** Pins this call created (removed again if the caller's attach fails). */
  created: string[];
}

function openMaps(
  pins: PinLayout,
  key: string,
  dir: Direction,
): Omit<KeyDirection, 'progFd' | 'progId'> | undefined {
  const names = MAP_NAMES(dir);
  const fds = [names.np, names.cp, names.state].map((n) => openPin(pins.map(key, n)));
  if (fds.some((fd) => fd < 0)) {
    fds.forEach(closeFd);
    return undefined;
  }
  return { npFd: fds[0]!, cpFd: fds[1]!, stateFd: fds[2]! };
}

/** Adopts or loads both directions of `key`. */
export function ensureKey(
  pins: PinLayout,
  objs: ObjectFiles,
  family: Family,
  ctEntries: number,
  key: string,
): EnsureResult {
  const before = new Set(
    [...pins.keyMaps(key), pins.prog(key, 'ingress'), pins.prog(key, 'egress')].filter(existsSync),
  );
  const created = new Set<string>();
  const dirs = {} as Record<Direction, KeyDirection>;
  const replaced = { ingress: 0, egress: 0 };
  try {
    for (const dir of ['ingress', 'egress'] as const) {
      const progPin = pins.prog(key, dir);
      const pinned = openPin(progPin);
      if (pinned >= 0) {
        const maps = openMaps(pins, key, dir);
        if (maps && pinnedProgramHash(pinned)?.equals(objs.hash[dir])) {
          dirs[dir] = { progFd: pinned, progId: progInfo(pinned).id, ...maps };
          continue;
        }
        if (maps) Object.values(maps).forEach(closeFd);
        replaced[dir] = progInfo(pinned).id;
        closeFd(pinned);
      }
      const o = loadObject(
        tcLoadSpec(pins, objs, family, ctEntries, dir, (n) => pins.map(key, n)),
        [PROG_NAME[dir]],
      );
      try {
        for (const p of pins.keyMaps(key)) if (!before.has(p) && existsSync(p)) created.add(p);
        const progFd = o.progFds[PROG_NAME[dir]]!;
        if (before.has(progPin)) {
          // Atomic swap of the pin: the old program stays attached (and alive) until its filters are replaced.
          const tmp = `${progPin}_swap`; // bpffs refuses dots in names
          rmSync(tmp, { force: true });
          pinFd(progFd, tmp);
          renameSync(tmp, progPin);
        } else {
          pinFd(progFd, progPin);
          created.add(progPin);
        }
      } finally {
        o.close();
      }
      const fd = openPin(progPin);
      const maps = openMaps(pins, key, dir);
      if (fd < 0 || !maps)
        throw new DatapathError('LOAD_FAILED', `pins of ${key} (${dir}) vanished after load`);
      dirs[dir] = { progFd: fd, progId: progInfo(fd).id, ...maps };
    }
    return { dirs, replaced, created: [...created] };
  } catch (e) {
    for (const d of Object.values(dirs)) closeKeyDirection(d);
    // Also maps libbpf pinned before a failed program load: every pin of the key that did not exist before.
    for (const p of [...pins.keyMaps(key), pins.prog(key, 'ingress'), pins.prog(key, 'egress')])
      if (!before.has(p)) rmSync(p, { force: true });
    throw e;
  }
}

export function closeKeyDirection(d: KeyDirection): void {
  for (const fd of [d.progFd, d.npFd, d.cpFd, d.stateFd]) closeFd(fd);
}
