// An in-memory PolicyDatapath for unit tests of the reconciler logic only (the end-to-end tests use the real
// eBPF datapath). Records every call so tests can check the order of writes.
import type {
  Direction,
  Family,
  FlowEvent,
  NpMapContent,
  PodKeyInfo,
  PodState,
  PolicyDatapath,
  StateKind,
} from '../src/datapath/contract.js';

export interface KeyState {
  veths: string[];
  maps: Record<Direction, NpMapContent>;
  state: Map<string, PodState>;
}

export class MemoryDatapath implements PolicyDatapath {
  readonly keys = new Map<string, KeyState>();
  readonly calls: string[] = [];
  failNextWrite: Error | undefined;
  private listener: ((e: FlowEvent) => void) | undefined;

  constructor(readonly family: Family = 'ipv4') {}

  listKeys(): PodKeyInfo[] {
    return [...this.keys].map(([key, k]) => ({
      key,
      attached: k.veths.map((ifname, i) => ({ ifname, ifindex: i + 10, ingressProgId: 1, egressProgId: 2 })),
    }));
  }

  attach(key: string, hostVeths: readonly string[], initial: { np: PodState; cp: PodState }): void {
    this.calls.push(`attach ${key} ${hostVeths.join(',')} np=${initial.np}`);
    const k = this.keys.get(key);
    if (k) {
      k.veths = [...hostVeths];
      return;
    }
    const state = new Map<string, PodState>();
    for (const d of ['ingress', 'egress']) {
      state.set(`${d}/np`, initial.np);
      state.set(`${d}/cp`, initial.cp);
    }
    this.keys.set(key, { veths: [...hostVeths], maps: { ingress: new Map(), egress: new Map() }, state });
  }

  private need(key: string): KeyState {
    const k = this.keys.get(key);
    if (!k) throw new Error(`no such pod key ${key}`);
    return k;
  }

  writePolicy(key: string, dir: Direction, content: NpMapContent): void {
    this.calls.push(`write ${key} ${dir}`);
    if (this.failNextWrite) {
      const e = this.failNextWrite;
      this.failNextWrite = undefined;
      throw e;
    }
    this.need(key).maps[dir] = new Map(content);
  }

  readPolicy(key: string, dir: Direction): NpMapContent {
    return this.need(key).maps[dir];
  }

  setState(
    key: string,
    dir: Direction,
    kind: StateKind,
    state: PodState,
    opts?: { ifAbsent?: boolean },
  ): void {
    const k = this.need(key);
    if (opts?.ifAbsent && k.state.has(`${dir}/${kind}`)) return;
    this.calls.push(`state ${key} ${dir} ${kind}=${state}`);
    k.state.set(`${dir}/${kind}`, state);
  }

  getState(key: string, dir: Direction, kind: StateKind): PodState | undefined {
    return this.keys.get(key)?.state.get(`${dir}/${kind}`);
  }

  remove(key: string): void {
    this.calls.push(`remove ${key}`);
    this.keys.delete(key);
  }

  conntrackGcTick(): number {
    return 0;
  }

  flushConntrack(): number {
    return 0;
  }

  readEvents(onEvent: (e: FlowEvent) => void): () => Promise<void> {
    this.listener = onEvent;
    return async () => {
      this.listener = undefined;
    };
  }

  /** Test hook: deliver a flow event as the ring buffer reader would. */
  emit(e: FlowEvent): void {
    this.listener?.(e);
  }

  close(): void {}
}
