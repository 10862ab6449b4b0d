// The warm pool: program pairs (both directions, with their fresh per-key maps) loaded ahead of need, so the
// first attach of a key does not wait for the verifier (README.md, "Warm pool"). Slots are pinned under
// <root>/pool/ and renamed to a key's pins when taken (programs.ts, keyFromPoolSlot). Loads run in a worker
// thread (a load takes 0.5-1.3 s of verifier time; on the main thread it would stall every gRPC call), one at a
// time, and the pool is refilled after each take. At open, complete slots loaded from the current objects with
// empty maps are adopted and everything else under pool/ is removed, so a crash never leaks a slot.
import { readdirSync, rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Family } from './contract.js';
import { closeFd, mapKeys, openPin } from './bpf-object.js';
import { koffiSource } from './events.js';
import { STATE_KEY_SIZE, trieKeySize } from './layout.js';
import { MAP_NAMES, PROG_NAME, type PinLayout } from './pins.js';
import { pinnedProgramHash, tcLoadSpec, type ObjectFiles } from './programs.js';
import type { Logger } from '@vpc-cni/shared/logging';

/**
 * Default number of ready slots. A slot is 2 programs (~20 KiB of jitted code and verifier metadata each) and
 * 6 empty maps (LPM tries and hashes without preallocation: a few hundred bytes), so memory is not the bound;
 * CPU is: filling a slot costs ~1 s of one core. 4 covers the pods a node typically starts at once (a rollout
 * or scale-up places a few per node); a larger burst falls back to loading inline while the pool refills.
 */
export const DEFAULT_POOL_SIZE = 4;
/** The upper bound accepted for `poolSize` (each slot is loaded at start: 16 s of one core at most). */
export const MAX_POOL_SIZE = 16;
/** How long a full pool keeps its loader thread before retiring it (ProgramPool.retireWorkerWhenIdle). */
const WORKER_IDLE_MS = 5_000;

// Runs in the worker (plain CommonJS, no bundle; koffi loaded as events.ts does). One job = one slot: for each
// direction open the object, check sizes, set pins / max entries / read-only data, load, pin the program.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let koffi;
if (workerData.addon) { const m = { exports: {} }; process.dlopen(m, workerData.addon); koffi = m.exports; }
else koffi = require(workerData.module);
const lib = koffi.load('libbpf.so.1');
const f = (s) => lib.func(s);
const open = f('void *bpf_object__open_file(const char *path, void *opts)');
const load = f('int bpf_object__load(void *obj)');
const close = f('void bpf_object__close(void *obj)');
const findMap = f('void *bpf_object__find_map_by_name(void *obj, const char *name)');
const nextMap = f('void *bpf_object__next_map(void *obj, void *map)');
const mapName = f('const char *bpf_map__name(void *map)');
const keySize = f('uint32_t bpf_map__key_size(void *map)');
const valueSize = f('uint32_t bpf_map__value_size(void *map)');
const setPin = f('int bpf_map__set_pin_path(void *map, const char *path)');
const setMax = f('int bpf_map__set_max_entries(void *map, uint32_t n)');
const setInit = f('int bpf_map__set_initial_value(void *map, const void *data, size_t size)');
const findProg = f('void *bpf_object__find_program_by_name(void *obj, const char *name)');
const progFd = f('int bpf_program__fd(void *prog)');
const objPin = f('int bpf_obj_pin(int fd, const char *path)');
const isNull = (p) => p === null || p === undefined || koffi.address(p) === 0n;
function loadOne(l) {
  const obj = open(l.spec.path, null);
  if (isNull(obj)) throw new Error('libbpf cannot open ' + l.spec.path + ' (errno ' + koffi.errno() + ')');
  try {
    for (const [name, m] of Object.entries(l.spec.maps)) {
      const map = findMap(obj, name);
      if (isNull(map)) throw new Error(l.spec.path + ' has no map ' + name);
      if (keySize(map) !== m.keySize || valueSize(map) !== m.valueSize)
        throw new Error(l.spec.path + ': map ' + name + ' sizes differ from the agent (object and agent versions differ)');
      if (m.maxEntries !== undefined && setMax(map, m.maxEntries) < 0) throw new Error('set max entries of ' + name);
      if (setPin(map, m.pinPath) < 0) throw new Error('set pin path of ' + name);
    }
    let ro = null;
    for (let m = nextMap(obj, null); !isNull(m); m = nextMap(obj, m)) if (mapName(m).endsWith('.rodata')) ro = m;
    const data = Buffer.from(l.spec.rodata);
    if (ro === null || setInit(ro, data, data.length) < 0) throw new Error(l.spec.path + ': cannot set .rodata');
    const rc = load(obj);
    if (rc < 0) throw new Error('bpf_object__load(' + l.spec.path + ') failed: errno ' + -rc);
    const prog = findProg(obj, l.prog);
    if (isNull(prog)) throw new Error(l.spec.path + ' has no program ' + l.prog);
    const prc = objPin(progFd(prog), l.progPin);
    if (prc < 0) throw new Error('bpf_obj_pin(' + l.progPin + '): errno ' + -prc);
  } finally {
    close(obj);
  }
}
parentPort.on('message', (job) => {
  try {
    for (const l of job.loads) loadOne(l);
    parentPort.postMessage({ slot: job.slot, ok: true });
  } catch (e) {
    parentPort.postMessage({ slot: job.slot, ok: false, error: String(e && e.message || e) });
  }
});
`;

export interface PoolStats {
  /** Slots ready to be taken. */
  ready: number;
  /** Slot loads under way (0 or 1). */
  loading: number;
  /** The loader thread is running (1) or retired while the pool is full (0). */
  loaderThread: number;
  /** Attaches of a new key served from the pool / loaded inline (pool empty or disabled) since open. */
  served: number;
  inline: number;
  /** Slots adopted from pins at open, and slots (complete or not) removed at open. */
  adopted: number;
  removedAtOpen: number;
  /** Failed slot loads since open. */
  failures: number;
}

export interface PoolOptions {
  size: number;
  pins: PinLayout;
  objs: ObjectFiles;
  family: Family;
  ctEntries: number;
  /** Default WORKER_IDLE_MS. */
  workerIdleMs?: number;
  log?: Logger;
}

export class ProgramPool {
  private readonly ready: string[] = [];
  private loading: string | undefined;
  private worker: Worker | undefined;
  private nextSlot = 0;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Retires the worker once the pool has stayed full this long: its isolate is ~9 MiB of a node's memory. */
  private idleTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private waiters: (() => void)[] = [];
  readonly stats: Omit<PoolStats, 'ready' | 'loading' | 'loaderThread'> = {
    served: 0,
    inline: 0,
    adopted: 0,
    removedAtOpen: 0,
    failures: 0,
  };

  constructor(private readonly o: PoolOptions) {
    this.recover();
    this.refill();
  }

  status(): PoolStats {
    return {
      ready: this.ready.length,
      loading: this.loading ? 1 : 0,
      loaderThread: this.worker ? 1 : 0,
      ...this.stats,
    };
  }

  /** A ready slot (its pins now belong to the caller), or undefined when the pool is empty. */
  take(): string | undefined {
    const slot = this.ready.shift();
    if (slot) this.stats.served++;
    else this.stats.inline++;
    this.refill();
    return slot;
  }

  /** Resolves when the pool is full (or stopped). */
  filled(): Promise<void> {
    if (this.stopped || (this.ready.length >= this.o.size && !this.loading)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops loading; ready slots stay pinned (adopted by the next open). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.idleTimer);
    const w = this.worker;
    this.worker = undefined;
    this.wake();
    if (w) await w.terminate();
    // A load cut short leaves part of its slot pinned.
    if (this.loading) for (const p of this.o.pins.poolSlotPins(this.loading)) rmSync(p, { force: true });
    this.loading = undefined;
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Adopts complete, unused slots of the current objects (up to size); removes every other pool pin. */
  private recover(): void {
    const { pins } = this.o;
    const slots = new Set<string>();
    const stray: string[] = [];
    for (const f of readdirSync(pins.pool)) {
      const m = /^s(\d+)_/.exec(f);
      if (!m) stray.push(f);
      else {
        slots.add(`s${m[1]}`);
        this.nextSlot = Math.max(this.nextSlot, Number(m[1]) + 1);
      }
    }
    for (const f of stray) rmSync(`${pins.pool}/${f}`, { force: true, recursive: true });
    if (stray.length) this.stats.removedAtOpen++;
    for (const slot of [...slots].sort()) {
      let keep = false;
      try {
        keep = this.ready.length < this.o.size && this.usable(slot);
      } catch (err) {
        this.o.log?.warn({ err, slot }, 'pool slot unreadable; removed');
      }
      if (keep) {
        this.ready.push(slot);
        this.stats.adopted++;
      } else {
        for (const p of pins.poolSlotPins(slot)) rmSync(p, { force: true });
        this.stats.removedAtOpen++;
      }
    }
  }

  /** All 8 pins there, both programs from the current objects, every map empty. */
  private usable(slot: string): boolean {
    const { pins, objs, family } = this.o;
    for (const dir of ['ingress', 'egress'] as const) {
      const fd = openPin(pins.poolProg(slot, dir));
      if (fd < 0) return false;
      try {
        if (!pinnedProgramHash(fd)?.equals(objs.hash[dir])) return false;
      } finally {
        closeFd(fd);
      }
      const names = MAP_NAMES(dir);
      for (const [name, ks] of [
        [names.np, trieKeySize(family)],
        [names.cp, trieKeySize(family)],
        [names.state, STATE_KEY_SIZE],
      ] as const) {
        const mfd = openPin(pins.poolMap(slot, name));
        if (mfd < 0) return false;
        try {
          if (mapKeys(mfd, ks).length) return false;
        } finally {
          closeFd(mfd);
        }
      }
    }
    return true;
  }

  private refill(): void {
    if (this.stopped || this.loading || this.retryTimer) return;
    if (this.ready.length >= this.o.size) {
      this.wake();
      this.retireWorkerWhenIdle();
      return;
    }
    const { pins, objs, family, ctEntries } = this.o;
    const slot = `s${this.nextSlot++}`;
    this.loading = slot;
    const loads = (['ingress', 'egress'] as const).map((dir) => ({
      spec: tcLoadSpec(pins, objs, family, ctEntries, dir, (n) => pins.poolMap(slot, n)),
      prog: PROG_NAME[dir],
      progPin: pins.poolProg(slot, dir),
    }));
    this.ensureWorker().postMessage({ slot, loads });
  }

  /**
   * A full pool needs no loader: the worker thread (its own V8 isolate) goes after WORKER_IDLE_MS, and the next
   * refill starts a new one (tens of ms, off the main thread, while ready slots serve pods).
   */
  private retireWorkerWhenIdle(): void {
    if (!this.worker || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      const w = this.worker;
      if (!w || this.loading || this.stopped) return;
      this.worker = undefined;
      w.terminate().catch((err: unknown) => this.o.log?.warn({ err }, 'program pool worker did not stop'));
    }, this.o.workerIdleMs ?? WORKER_IDLE_MS);
    this.idleTimer.unref();
  }

  private ensureWorker(): Worker {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: koffiSource() });
    w.unref();
    w.on('message', (m: { slot: string; ok: boolean; error?: string }) => this.done(m));
    w.on('error', (err) => {
      this.o.log?.error({ err }, 'program pool worker failed');
      if (this.worker === w) this.worker = undefined;
      if (this.loading) this.done({ slot: this.loading, ok: false, error: err.message });
    });
    this.worker = w;
    return w;
  }

  private done(m: { slot: string; ok: boolean; error?: string }): void {
    if (m.slot !== this.loading) return;
    this.loading = undefined;
    if (this.stopped) return;
    if (m.ok) {
      this.consecutiveFailures = 0;
      this.ready.push(m.slot);
    } else {
      for (const p of this.o.pins.poolSlotPins(m.slot)) rmSync(p, { force: true });
      this.stats.failures++;
      this.consecutiveFailures++;
      const delay = Math.min(30_000, 1_000 * 2 ** (this.consecutiveFailures - 1));
      this.o.log?.error(
        { err: new Error(m.error), retryInMs: delay },
        'pre-loading a program pair for the pool failed; new pods load inline meanwhile',
      );
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.refill();
      }, delay);
      this.retryTimer.unref();
      return;
    }
    this.refill();
  }
}
