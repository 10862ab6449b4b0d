// What aws-eks-na-cli reads from the kernel: every program and map (by id), the datapath's pins, and the
// entries of one map. Read-only.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  closeFd,
  fdById,
  mapInfo,
  mapKeys,
  mapLookup,
  nextIds,
  openPin,
  progInfo,
  type MapInfo,
  type ProgInfo,
} from '../datapath/bpf-object.js';
import { parseProgPin, pinKey } from '../datapath/pins.js';
import type { Direction } from '../datapath/contract.js';

export function allPrograms(): ProgInfo[] {
  const out: ProgInfo[] = [];
  for (const id of nextIds('prog')) {
    let fd = -1;
    try {
      fd = fdById('prog', id);
      out.push(progInfo(fd));
    } catch {
      // the program went away between listing and opening
    } finally {
      closeFd(fd);
    }
  }
  return out;
}

export function allMaps(): MapInfo[] {
  const out: MapInfo[] = [];
  for (const id of nextIds('map')) {
    let fd = -1;
    try {
      fd = fdById('map', id);
      out.push(mapInfo(fd));
    } catch {
      // gone meanwhile
    } finally {
      closeFd(fd);
    }
  }
  return out;
}

export interface PinnedProgram {
  pinPath: string;
  key: string;
  dir: Direction;
  progId: number;
  maps: { name: string; id: number }[];
}

/** Pinned programs under `root`, with their maps named by pin (kernel map names are cut at 15 characters). */
export function pinnedPrograms(root: string): PinnedProgram[] {
  const progDir = join(root, 'programs');
  const mapDir = join(root, 'maps');
  const pinById = new Map<number, string>();
  if (existsSync(mapDir))
    for (const f of readdirSync(mapDir)) {
      const fd = openPin(join(mapDir, f));
      if (fd < 0) continue;
      try {
        pinById.set(mapInfo(fd).id, f);
      } finally {
        closeFd(fd);
      }
    }
  const out: PinnedProgram[] = [];
  if (!existsSync(progDir)) return out;
  for (const f of readdirSync(progDir).sort()) {
    const parsed = parseProgPin(f);
    if (!parsed) continue;
    const fd = openPin(join(progDir, f));
    if (fd < 0) continue;
    try {
      const info = progInfo(fd);
      const pk = pinKey(parsed.key);
      const maps = info.mapIds.map((id) => {
        const pin = pinById.get(id);
        if (pin) return { name: pin.startsWith(`${pk}_`) ? pin.slice(pk.length + 1) : pin, id };
        let mfd = -1;
        try {
          mfd = fdById('map', id);
          return { name: mapInfo(mfd).name, id };
        } finally {
          closeFd(mfd);
        }
      });
      out.push({ pinPath: join(progDir, f), key: parsed.key, dir: parsed.dir, progId: info.id, maps });
    } finally {
      closeFd(fd);
    }
  }
  return out;
}

export interface MapDump {
  info: MapInfo;
  entries: [key: Buffer, value: Buffer][];
}

export function dumpMap(id: number): MapDump {
  const fd = fdById('map', id);
  try {
    const info = mapInfo(fd);
    const entries: [Buffer, Buffer][] = [];
    for (const k of mapKeys(fd, info.keySize)) {
      const v = mapLookup(fd, k, info.valueSize);
      if (v) entries.push([k, v]);
    }
    return { info, entries };
  } finally {
    closeFd(fd);
  }
}
