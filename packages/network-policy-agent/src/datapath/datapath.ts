// The eBPF datapath of one node and family: the PolicyDatapath of contract.ts over libbpf (see README.md,
// "Datapath"). Synchronous on the main thread, except the flow-event reader (a worker thread).
import { existsSync, rmSync } from 'node:fs';
import { Netlink } from '@vpc-cni/shared/netlink';
import type { PodState } from './contract.js';
import {
  type Direction,
  type Family,
  type FlowEvent,
  type NpMapContent,
  type PodKeyInfo,
  type PolicyDatapath,
  type StateKind,
} from './contract.js';
import { closeFd, fdById, mapInfo, mapLookup, mapUpdate, openPin, progInfo } from './bpf-object.js';
import { DatapathError } from './errors.js';
import { BPF_ANY, BPF_NOEXIST } from './libbpf.js';
import { STATE_VALUE_SIZE, decodeState, encodeStateKey } from './layout.js';
import { PolicyMap, type WriteResult } from './policy-map.js';
import {
  closeKeyDirection,
  ensureGlobals,
  ensureKey,
  keyFromPoolSlot,
  type EnsureResult,
  readObjects,
  type KeyDirection,
  type ObjectFiles,
} from './programs.js';
import { DEFAULT_PIN_ROOT, GLOBAL_CONNTRACK, GLOBAL_EVENTS, PinLayout, checkKey } from './pins.js';
import { Tc } from './tc.js';
import { MAX_POOL_SIZE, ProgramPool, type PoolStats } from './pool.js';
import { ConntrackTable } from './conntrack-table.js';
import { startEventReader } from './events.js';
import { DEFAULT_CONNTRACK_ENTRIES, type DatapathOptions, defaultObjectDir } from './options.js';

export { DEFAULT_CONNTRACK_ENTRIES, type DatapathOptions, defaultObjectDir } from './options.js';

const EEXIST = 17;

interface KeyState {
  dirs: Record<Direction, KeyDirection>;
  policy: Record<Direction, PolicyMap>;
}

export class EbpfDatapath implements PolicyDatapath {
  readonly family: Family;
  readonly pins: PinLayout;
  private readonly objs: ObjectFiles;
  private readonly tc: Tc;
  private readonly keys = new Map<string, KeyState>();
  private readonly ctFd: number;
  private readonly ctEntries: number;
  private readonly prefixes: readonly string[];
  private readonly pool: ProgramPool;
  private readonly ct: ConntrackTable;
  private closed = false;

  /** Checks bpffs and the object files, then loads or adopts the global maps. Throws a DatapathError. */
  constructor(private readonly opts: DatapathOptions) {
    const poolSize = opts.poolSize ?? 0;
    if (!Number.isInteger(poolSize) || poolSize < 0 || poolSize > MAX_POOL_SIZE)
      throw new DatapathError('BAD_INPUT', `poolSize ${poolSize}: must be an integer 0-${MAX_POOL_SIZE}`);
    this.family = opts.family;
    this.pins = new PinLayout(opts.pinRoot ?? DEFAULT_PIN_ROOT);
    this.objs = readObjects(opts.objectDir ?? defaultObjectDir(), opts.family);
    this.pins.ensure();
    this.tc = new Tc(opts.netns);
    this.ctEntries = opts.conntrackEntries ?? DEFAULT_CONNTRACK_ENTRIES;
    this.prefixes = opts.vethPrefixes ?? ['eni', 'vlan'];
    ensureGlobals(this.pins, this.objs, this.family, this.ctEntries);
    this.ctFd = openPin(this.pins.global(GLOBAL_CONNTRACK));
    this.ct = new ConntrackTable(this.ctFd, this.family, opts.netns);
    const info = mapInfo(this.ctFd);
    if (info.maxEntries !== this.ctEntries)
      opts.log?.warn(
        { pinned: info.maxEntries, wanted: this.ctEntries },
        'the pinned conntrack map keeps its size until it is recreated (node reboot or new objects)',
      );
    this.pool = new ProgramPool({
      size: poolSize,
      pins: this.pins,
      objs: this.objs,
      family: this.family,
      ctEntries: this.ctEntries,
      ...(opts.poolWorkerIdleMs !== undefined ? { workerIdleMs: opts.poolWorkerIdleMs } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
  }

  /** The warm pool's counters (ready slots, loads under way, attaches served from it or inline). */
  poolStatus(): PoolStats {
    return this.pool.status();
  }

  /** Resolves when the warm pool is full (tests, bench). */
  poolFilled(): Promise<void> {
    return this.pool.filled();
  }

  /** Stops the pool's loads (close() does too, without waiting); ready slots stay pinned for the next open. */
  stopPool(): Promise<void> {
    return this.pool.stop();
  }

  /** Loads or adopts a key this instance does not hold: a key with no pin at all takes a pool slot if any. */
  private ensureNew(key: string): EnsureResult {
    const any = [this.pins.prog(key, 'ingress'), this.pins.prog(key, 'egress'), ...this.pins.keyMaps(key)];
    if (!any.some((p) => existsSync(p))) {
      const slot = this.pool.take();
      if (slot)
        try {
          return keyFromPoolSlot(this.pins, slot, key);
        } catch (err) {
          // The slot is dropped (its pins removed); the key loads inline as with an empty pool.
          this.opts.log?.warn({ err, key, slot }, 'pool slot unusable; loading inline');
        }
    }
    return ensureKey(this.pins, this.objs, this.family, this.ctEntries, key);
  }

  listKeys(): PodKeyInfo[] {
    const byProg = new Map<number, { key: string; dir: Direction }>();
    const out = new Map<string, PodKeyInfo>();
    for (const [key, dirs] of this.pins.pinnedKeys()) {
      out.set(key, { key, attached: [] });
      for (const dir of dirs) {
        const fd = openPin(this.pins.prog(key, dir));
        if (fd < 0) continue;
        try {
          byProg.set(progIdOf(fd), { key, dir });
        } finally {
          closeFd(fd);
        }
      }
    }
    for (const link of this.links()) {
      const ids = {
        ingress: this.tc.query(link.index, 'ingress'),
        egress: this.tc.query(link.index, 'egress'),
      };
      const owner = byProg.get(ids.ingress) ?? byProg.get(ids.egress);
      if (!owner) continue;
      out.get(owner.key)!.attached.push({
        ifname: link.name,
        ifindex: link.index,
        ingressProgId: ids.ingress,
        egressProgId: ids.egress,
      });
    }
    return [...out.values()];
  }

  private links(): { name: string; index: number }[] {
    const nl = Netlink.open(this.opts.netns);
    try {
      return nl.link.list().filter((l) => this.prefixes.some((p) => l.name.startsWith(p)));
    } finally {
      nl.close();
    }
  }

  attach(key: string, hostVeths: readonly string[], initial: { np: PodState; cp: PodState }): void {
    checkKey(key);
    if (hostVeths.length === 0) throw new DatapathError('BAD_INPUT', `attach ${key}: no host veth given`);
    // Every veth must exist before anything is loaded or attached.
    const ifs = hostVeths.map((name) => {
      const index = this.tc.ifindex(name);
      if (!index) throw new DatapathError('VETH_MISSING', `host veth ${name} of ${key} does not exist`);
      return { name, index };
    });
    const known = this.keys.get(key);
    const ensured = known ? undefined : this.ensureNew(key);
    const st: KeyState = known ?? {
      dirs: ensured!.dirs,
      policy: {
        ingress: new PolicyMap(ensured!.dirs.ingress.npFd, this.family, `${key}_ingress_map`),
        egress: new PolicyMap(ensured!.dirs.egress.npFd, this.family, `${key}_egress_map`),
      },
    };
    const undo: (() => void)[] = [];
    try {
      for (const dir of ['ingress', 'egress'] as const) {
        this.writeState(st.dirs[dir].stateFd, 'np', initial.np, true);
        this.writeState(st.dirs[dir].stateFd, 'cp', initial.cp, true);
      }
      for (const i of ifs)
        for (const dir of ['ingress', 'egress'] as const) {
          const prev = this.tc.query(i.index, dir);
          this.tc.attach(i.name, i.index, dir, st.dirs[dir].progFd);
          undo.push(() =>
            prev ? this.reattachById(i.name, i.index, dir, prev) : this.tc.detach(i.index, dir),
          );
        }
      // A replaced program: move every other veth still running the old one to the new one.
      if (ensured)
        for (const dir of ['ingress', 'egress'] as const) {
          const old = ensured.replaced[dir];
          if (!old) continue;
          for (const l of this.links())
            if (!ifs.some((i) => i.index === l.index) && this.tc.query(l.index, dir) === old)
              this.tc.attach(l.name, l.index, dir, st.dirs[dir].progFd);
        }
    } catch (e) {
      for (const u of undo.reverse())
        try {
          u();
        } catch (ue) {
          this.opts.log?.error({ err: ue }, 'rollback of a failed attach');
        }
      if (ensured) {
        closeKeyDirection(ensured.dirs.ingress);
        closeKeyDirection(ensured.dirs.egress);
        for (const p of ensured.created) rmSync(p, { force: true });
      }
      throw e;
    }
    this.keys.set(key, st);
  }

  private reattachById(name: string, index: number, dir: Direction, progId: number): void {
    const fd = fdById('prog', progId);
    try {
      this.tc.attach(name, index, dir, fd);
    } finally {
      closeFd(fd);
    }
  }

  /** The state of a known key, opening its pins when this instance has not attached it (after a restart). */
  private key(key: string): KeyState {
    checkKey(key);
    const k = this.keys.get(key);
    if (k) return k;
    if (!this.pins.pinnedKeys().has(key))
      throw new DatapathError('UNKNOWN_KEY', `no pinned programs for pod key ${key} (attach it first)`);
    const ensured = ensureKey(this.pins, this.objs, this.family, this.ctEntries, key);
    const st: KeyState = {
      dirs: ensured.dirs,
      policy: {
        ingress: new PolicyMap(ensured.dirs.ingress.npFd, this.family, `${key}_ingress_map`),
        egress: new PolicyMap(ensured.dirs.egress.npFd, this.family, `${key}_egress_map`),
      },
    };
    // A stale program was replaced: move its filters.
    for (const dir of ['ingress', 'egress'] as const) {
      const old = ensured.replaced[dir];
      if (!old) continue;
      for (const l of this.links())
        if (this.tc.query(l.index, dir) === old) this.tc.attach(l.name, l.index, dir, st.dirs[dir].progFd);
    }
    this.keys.set(key, st);
    return st;
  }

  writePolicy(key: string, dir: Direction, content: NpMapContent): void {
    const r: WriteResult = this.key(key).policy[dir].write(content);
    if (r.failedDeletes.length)
      this.opts.log?.warn(
        { key, dir, failed: r.failedDeletes },
        'policy map deletes failed; retried on the next write',
      );
  }

  readPolicy(key: string, dir: Direction): NpMapContent {
    return this.key(key).policy[dir].read();
  }

  private writeState(fd: number, kind: StateKind, state: PodState, ifAbsent: boolean): void {
    const v = Buffer.from([state]);
    const rc = mapUpdate(fd, encodeStateKey(kind), v, ifAbsent ? BPF_NOEXIST : BPF_ANY);
    if (rc < 0 && !(ifAbsent && rc === -EEXIST))
      throw new DatapathError('MAP_OP_FAILED', `write ${kind} pod state`, -rc);
  }

  setState(
    key: string,
    dir: Direction,
    kind: StateKind,
    state: PodState,
    opts?: { ifAbsent?: boolean },
  ): void {
    this.writeState(this.key(key).dirs[dir].stateFd, kind, state, opts?.ifAbsent ?? false);
  }

  getState(key: string, dir: Direction, kind: StateKind): PodState | undefined {
    const v = mapLookup(this.key(key).dirs[dir].stateFd, encodeStateKey(kind), STATE_VALUE_SIZE);
    return v ? decodeState(v[0]!) : undefined;
  }

  remove(key: string): void {
    checkKey(key);
    const st = this.keys.get(key);
    if (st) {
      closeKeyDirection(st.dirs.ingress);
      closeKeyDirection(st.dirs.egress);
      this.keys.delete(key);
    }
    for (const p of [
      this.pins.prog(key, 'ingress'),
      this.pins.prog(key, 'egress'),
      ...this.pins.keyMaps(key),
    ])
      rmSync(p, { force: true });
  }

  conntrackGcTick(): number {
    return this.ct.gcTick();
  }

  flushConntrack(podIp?: string): number {
    return this.ct.flush(podIp);
  }

  readEvents(onEvent: (e: FlowEvent) => void): () => Promise<void> {
    const fd = openPin(this.pins.global(GLOBAL_EVENTS));
    let reader: Awaited<ReturnType<typeof startEventReader>> | undefined;
    let failed: Error | undefined;
    const started = startEventReader(fd, this.family, onEvent, (err) =>
      this.opts.log?.error({ err }, 'flow event reader'),
    ).then(
      (r) => (reader = r),
      (e: Error) => (failed = e),
    );
    return async () => {
      await started;
      if (reader) await reader.stop();
      closeFd(fd);
      if (failed) throw failed;
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.pool.stop();
    for (const st of this.keys.values()) {
      closeKeyDirection(st.dirs.ingress);
      closeKeyDirection(st.dirs.egress);
    }
    this.keys.clear();
    closeFd(this.ctFd);
  }
}

const progIdOf = (fd: number): number => progInfo(fd).id;
