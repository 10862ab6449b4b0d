// Where the datapath pins its programs and maps under the bpffs root, and how pin names map back to pod keys.
// Layout (see README.md, "Pins"): <root>/programs/<key>_handle_ingress|egress, <root>/maps/<key>_<map name>,
// <root>/maps/global_aws_conntrack_map, <root>/maps/global_policy_events.
import { existsSync, mkdirSync, readdirSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Direction, Family } from './contract.js';
import { DatapathError } from './errors.js';

export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/globals/aws';
const BPF_FS_MAGIC = 0xcafe4a11;
const KEY_RE = /^[A-Za-z0-9_@.-]{1,200}$/;
// bpffs refuses names with a dot (EPERM): a key's dots are pinned as `~` (a character keys cannot contain).
export const pinKey = (key: string): string => key.replaceAll('.', '~');
export const keyOfPin = (pin: string): string => pin.replaceAll('~', '.');

export const PROG_NAME: Record<Direction, string> = { ingress: 'handle_ingress', egress: 'handle_egress' };
export const MAP_NAMES = (dir: Direction) =>
  ({ np: `${dir}_map`, cp: `cp_${dir}_map`, state: `${dir}_pod_state_map` }) as const;
export const GLOBAL_CONNTRACK = 'aws_conntrack_map';
export const GLOBAL_EVENTS = 'policy_events';

export const objectFile = (f: Family, what: Direction | 'events'): string => {
  const fam = f === 'ipv4' ? 'v4' : 'v6';
  return what === 'events' ? `${fam}events.bpf.o` : `tc.${fam}${what}.bpf.o`;
};

export class PinLayout {
  constructor(readonly root: string) {}
  get programs(): string {
    return join(this.root, 'programs');
  }
  get maps(): string {
    return join(this.root, 'maps');
  }
  prog(key: string, dir: Direction): string {
    return join(this.programs, `${pinKey(key)}_${PROG_NAME[dir]}`);
  }
  map(key: string, name: string): string {
    return join(this.maps, `${pinKey(key)}_${name}`);
  }
  global(name: string): string {
    return join(this.maps, `global_${name}`);
  }
  /** The warm pool's pins (pool.ts): <root>/pool/<slot>_handle_<dir>, <root>/pool/<slot>_<map name>. */
  get pool(): string {
    return join(this.root, 'pool');
  }
  poolProg(slot: string, dir: Direction): string {
    return join(this.pool, `${slot}_${PROG_NAME[dir]}`);
  }
  poolMap(slot: string, name: string): string {
    return join(this.pool, `${slot}_${name}`);
  }
  /** Every pin of a pool slot: programs, then maps (both directions). */
  poolSlotPins(slot: string): string[] {
    return [
      this.poolProg(slot, 'ingress'),
      this.poolProg(slot, 'egress'),
      ...(['ingress', 'egress'] as const).flatMap((d) =>
        Object.values(MAP_NAMES(d)).map((m) => this.poolMap(slot, m)),
      ),
    ];
  }
  /** Every map pin of a key (both directions). */
  keyMaps(key: string): string[] {
    return (['ingress', 'egress'] as const).flatMap((d) =>
      Object.values(MAP_NAMES(d)).map((m) => this.map(key, m)),
    );
  }

  /** Checks the root is on a bpf filesystem and creates programs/ and maps/ there. */
  ensure(): void {
    let probe = this.root;
    while (!existsSync(probe)) probe = dirname(probe);
    let type: number;
    try {
      type = statfsSync(probe).type;
    } catch (e) {
      throw new DatapathError('BPFFS_NOT_MOUNTED', `cannot statfs ${probe}: ${(e as Error).message}`);
    }
    if (type !== BPF_FS_MAGIC)
      throw new DatapathError(
        'BPFFS_NOT_MOUNTED',
        `the pin root ${this.root} is not on a bpf filesystem (${probe} has fs type 0x${type.toString(16)})`,
      );
    mkdirSync(this.programs, { recursive: true });
    mkdirSync(this.maps, { recursive: true });
    mkdirSync(this.pool, { recursive: true });
  }

  /** Pod keys with at least one pinned program, with the directions pinned. */
  pinnedKeys(): Map<string, Set<Direction>> {
    const out = new Map<string, Set<Direction>>();
    if (!existsSync(this.programs)) return out;
    for (const f of readdirSync(this.programs)) {
      const parsed = parseProgPin(f);
      if (!parsed) continue;
      const s = out.get(parsed.key) ?? new Set<Direction>();
      s.add(parsed.dir);
      out.set(parsed.key, s);
    }
    return out;
  }
}

/** `<pinned key>_handle_<dir>` → key and direction (the key may itself contain `_`). */
export function parseProgPin(name: string): { key: string; dir: Direction } | undefined {
  for (const dir of ['ingress', 'egress'] as const) {
    const suffix = `_${PROG_NAME[dir]}`;
    if (name.endsWith(suffix) && name.length > suffix.length)
      return { key: keyOfPin(name.slice(0, -suffix.length)), dir };
  }
  return undefined;
}

export function checkKey(key: string): void {
  if (!KEY_RE.test(key) || key.startsWith('global_'))
    throw new DatapathError(
      'BAD_INPUT',
      `pod key "${key}" must be 1-200 characters of [A-Za-z0-9_@.-] and not start with global_`,
    );
}
