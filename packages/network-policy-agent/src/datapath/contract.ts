// The seam between the policy logic (what each pod's maps must hold: src/policy, src/agent) and the eBPF
// datapath (how that is held and enforced in the kernel: src/datapath, bpf/). Both sides code against these
// types only. Changes must stay additive; say why in the package README.

export type Family = 'ipv4' | 'ipv6';

/** The pod's point of view: `ingress` = traffic to the pod (program on the host veth's TC egress hook). */
export type Direction = 'ingress' | 'egress';

/** One byte in `<dir>_pod_state_map` (key 0 = network policy state, key 1 = cluster policy state). */
export enum PodState {
  PoliciesApplied = 0,
  DefaultAllow = 1,
  DefaultDeny = 2,
}

export type StateKind = 'np' | 'cp';

/** IP protocol numbers as the maps store them; 254 = any protocol, 255 = deny marker (an `except`). */
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_SCTP = 132;
export const PROTO_ANY = 254;
export const PROTO_DENY = 255;

/** One of the up to 24 entries of an NP trie value (12 bytes each in the kernel). */
export interface NpEntry {
  protocol: number;
  /** 0 = any port. */
  startPort: number;
  /** 0 = no range; else inclusive end. */
  endPort: number;
}

export const MAX_NP_ENTRIES = 24;

/**
 * The whole desired content of one NP map (one pod key, one direction): canonical CIDR (host bits zero, always
 * with a prefix length, e.g. `10.0.0.0/8`, `10.1.2.3/32`, `fd00::/64`) → at most MAX_NP_ENTRIES entries.
 * The compiler guarantees canonical CIDRs of the datapath's family and ≤ 24 entries; the datapath rejects
 * anything else with a typed error before writing.
 */
export type NpMapContent = ReadonlyMap<string, readonly NpEntry[]>;

/** A flow event read from the ring buffer (spec layout `data_t`), decoded. */
export interface FlowEvent {
  srcIp: string;
  srcPort: number;
  destIp: string;
  destPort: number;
  protocol: number;
  verdict: 'ACCEPT' | 'DENY';
  packetSize: number;
  /** true = seen by the from-pod (egress) program. */
  isEgress: boolean;
  /** 0 ERROR, 1 ADMIN, 2 NETWORK_POLICY, 3 BASELINE, 4 DEFAULT. */
  tier: number;
}

export interface AttachedInterface {
  ifname: string;
  ifindex: number;
  ingressProgId: number;
  egressProgId: number;
}

export interface PodKeyInfo {
  /** The pin-name prefix of this pod key's programs and maps. */
  key: string;
  attached: AttachedInterface[];
}

/**
 * The eBPF datapath of one node (one family). Synchronous calls on the main thread (netlink / libbpf are
 * quick; see the package README for measured costs). Every error is a typed error naming the cause.
 *
 * `key` is an opaque pin-name prefix chosen by the agent (one per set of pods that share maps; the agent's
 * layout decides), made of [A-Za-z0-9_@.-] only, at most 200 bytes.
 */
export interface PolicyDatapath {
  readonly family: Family;
  /** Pod keys found pinned (left by this or an earlier agent), with what is attached where. */
  listKeys(): PodKeyInfo[];
  /**
   * Loads (or adopts, when pinned) the program pair and maps of `key` and attaches them to each host veth
   * (clsact created if absent; filters replaced atomically, handle 1 prio 1). When the pod-state maps are new,
   * `initial` is written to both directions before the first attach, so the first packet already sees it.
   * A missing veth is an error naming it; nothing is left half-attached by a failed call.
   */
  attach(key: string, hostVeths: readonly string[], initial: { np: PodState; cp: PodState }): void;
  /** Replaces one NP map's content: inserts/updates first, then deletes (a diff against a shadow copy). */
  writePolicy(key: string, dir: Direction, content: NpMapContent): void;
  readPolicy(key: string, dir: Direction): NpMapContent;
  setState(
    key: string,
    dir: Direction,
    kind: StateKind,
    state: PodState,
    opts?: { ifAbsent?: boolean },
  ): void;
  getState(key: string, dir: Direction, kind: StateKind): PodState | undefined;
  /** Unpins the key's programs and maps (its filters go with the veths). Never touches a qdisc. */
  remove(key: string): void;
  /**
   * Conntrack garbage collection, one tick (spec: odd ticks snapshot, even ticks sweep against the kernel's
   * netfilter conntrack table). Returns how many entries were deleted.
   */
  conntrackGcTick(): number;
  /** Deletes conntrack entries owned by `podIp` (pod gone, or its rules changed). Returns how many. */
  flushConntrack(podIp?: string): number;
  /** Starts reading flow events (off the main thread); returns a stop function. */
  readEvents(onEvent: (e: FlowEvent) => void): () => Promise<void>;
  close(): void;
}
