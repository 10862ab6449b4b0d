// The datastore of one network card (docs/architecture.md#datastore): ENIs, their secondary IPs and prefixes,
// and which pod holds which address. Pure and synchronous; the caller persists (checkpoint) before answering
// a request.
//
// Choices (docs/architecture.md#decisions, 1): ENIs are tried by ascending device number, CIDRs by ascending
// address, and inside a CIDR the lowest usable address wins — so pods pack onto few ENIs and whole ENIs
// become freeable, and the same sequence of requests always yields the same addresses.
import { type Family, cidrContains, canonicalIp, formatCidr, parseCidr } from '@vpc-cni/shared/ipmath';
import { AddressRules, type IpStats } from './address-rules.js';
import { DatastoreError, NO_AVAILABLE } from './errors.js';
import {
  type AddressEntry,
  type Allocation,
  type Assigned,
  type CidrEntry,
  type EniEntry,
  type EniSpec,
  type IpamKey,
  type PodMetadata,
  type Released,
  keyString,
  legacyKey,
} from './types.js';

export interface DatastoreOptions {
  /** Address family pods get (IPv6 mode uses /80 prefixes only). */
  family: Family;
  /** ENABLE_PREFIX_DELEGATION: IPv4 pods come from /28 prefixes instead of secondary IPs. */
  prefixDelegation: boolean;
  /** IP_COOLDOWN_PERIOD in milliseconds. */
  cooldownMs: number;
  /** Milliseconds clock for cooldown (injectable for tests). */
  nowMs?: () => number;
  /** Nanoseconds wall clock for allocation timestamps. */
  nowNs?: () => bigint;
}

interface Location {
  eni: EniEntry;
  cidr: CidrEntry;
  entry: AddressEntry;
  /** Its checkpoint entry, made once: a Location is replaced, never changed, when its allocation changes. */
  snapshot?: { allocation: Allocation; quarantined: boolean };
}

export class Datastore {
  private readonly enis = new Map<string, EniEntry>();
  private readonly byKey = new Map<string, Location>();
  private readonly quarantined = new Map<string, Allocation>();
  // Sorted views, rebuilt only when ENIs or CIDRs change (assign walks them on every call).
  private enisSorted: EniEntry[] | undefined;
  private readonly cidrsSorted = new WeakMap<EniEntry, CidrEntry[]>();
  private readonly nowMs: () => number;
  private readonly nowNs: () => bigint;
  private readonly rules: AddressRules;

  constructor(readonly options: DatastoreOptions) {
    this.nowMs = options.nowMs ?? (() => Date.now());
    this.nowNs = options.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.rules = new AddressRules(options, this.nowMs);
  }

  // --- ENIs and CIDRs ---

  addEni(spec: EniSpec): void {
    if (this.enis.has(spec.id)) throw new DatastoreError('duplicate-eni', 'data store: duplicate ENI');
    this.enisSorted = undefined;
    this.enis.set(spec.id, {
      id: spec.id,
      deviceNumber: spec.deviceNumber,
      isPrimary: spec.isPrimary ?? false,
      isTrunk: spec.isTrunk ?? false,
      isEfa: spec.isEfa ?? false,
      routeTableId: spec.routeTableId,
      subnetId: spec.subnetId ?? '',
      subnetCidr: spec.subnetCidr,
      excludedForPods: spec.excludedForPods ?? false,
      cidrs: new Map(),
    });
  }

  private eni(id: string): EniEntry {
    const e = this.enis.get(id);
    if (!e) throw new DatastoreError('unknown-eni', `datastore: unknown ENI ${id}`);
    return e;
  }

  /** Adds a secondary IP (/32, /128) or a prefix; re-attaches quarantined allocations it contains. */
  addCidr(eniId: string, text: string, isPrefix: boolean): Allocation[] {
    const eni = this.eni(eniId);
    const cidr = parseCidr(text);
    const key = formatCidr(cidr);
    if (eni.cidrs.has(key)) throw new DatastoreError('duplicate-cidr', 'datastore: IP already in data store');
    const entry: CidrEntry = { text: key, cidr, isPrefix, addresses: new Map() };
    eni.cidrs.set(key, entry);
    this.cidrsSorted.delete(eni);
    const attached: Allocation[] = [];
    for (const [k, a] of this.quarantined) {
      if (!cidrContains(cidr, a.address)) continue;
      this.attach(eni, entry, a);
      this.quarantined.delete(k);
      attached.push(a);
    }
    return attached;
  }

  /** Removes a CIDR; with `force`, unassigns its pods first (returned). */
  delCidr(eniId: string, text: string, force = false): Released[] {
    const eni = this.eni(eniId);
    const key = formatCidr(parseCidr(text));
    const cidr = eni.cidrs.get(key);
    if (!cidr) throw new DatastoreError('unknown-cidr', `datastore: unknown IP ${key}`);
    const inUse = [...cidr.addresses.values()].filter((a) => a.key);
    if (inUse.length > 0 && !force)
      throw new DatastoreError('cidr-in-use', 'datastore: IP is used and can not be deleted');
    const released = inUse.map((a) => this.release({ eni, cidr, entry: a }));
    eni.cidrs.delete(key);
    this.cidrsSorted.delete(eni);
    return released;
  }

  /** Removes an ENI; with `force`, unassigns its pods first (returned). */
  removeEni(eniId: string, force = false): Released[] {
    const eni = this.eni(eniId);
    const inUse = this.assignedOn(eni);
    if (inUse.length > 0 && !force)
      throw new DatastoreError('eni-in-use', 'datastore: ENI is used and can not be deleted');
    const released = inUse.map((l) => this.release(l));
    this.enis.delete(eniId);
    this.enisSorted = undefined;
    return released;
  }

  setExcluded(eniId: string, excluded: boolean): void {
    this.eni(eniId).excludedForPods = excluded;
  }

  // --- assigning (docs/architecture.md#datastore) ---

  /** The pod's address: the one it already has (idempotent ADD) or a new one. */
  assign(key: IpamKey, metadata: PodMetadata): Assigned {
    const existing = this.byKey.get(keyString(key));
    if (existing) return this.assignedOf(existing);
    const q = this.quarantined.get(keyString(key));
    if (q)
      throw new DatastoreError(
        'address-conflict',
        `allocation for container ${key.containerID} is quarantined: its address ${q.address} is on no ENI of this node`,
      );
    for (const eni of this.sortedEnis()) {
      if (eni.excludedForPods) continue;
      for (const cidr of this.sortedCidrs(eni)) {
        if (!this.rules.isActive(cidr)) continue;
        const address = this.rules.unusedAddress(cidr);
        if (address === undefined) continue;
        const entry: AddressEntry = {
          address,
          key: { ...key },
          metadata: { ...metadata },
          assignedAtNs: this.nowNs(),
        };
        cidr.addresses.set(address, entry);
        const loc = { eni, cidr, entry };
        this.byKey.set(keyString(key), loc);
        return this.assignedOf(loc);
      }
    }
    throw new DatastoreError('no-available', NO_AVAILABLE);
  }

  /** Undoes an assign whose checkpoint write failed: the address is as if never handed out. */
  undoAssign(key: IpamKey): void {
    const loc = this.byKey.get(keyString(key));
    if (!loc) return;
    loc.cidr.addresses.delete(loc.entry.address);
    this.byKey.delete(keyString(key));
  }

  /** Releases the pod's address (legacy key as fallback); undefined when the key is unknown. */
  unassign(key: IpamKey): Released | undefined {
    const loc = this.byKey.get(keyString(key)) ?? this.byKey.get(keyString(legacyKey(key)));
    if (loc) return this.release(loc);
    const q = this.quarantined.get(keyString(key));
    if (!q) return undefined;
    this.quarantined.delete(keyString(key));
    return {
      key: q.key,
      metadata: q.metadata,
      assignedAtNs: q.assignedAtNs,
      address: q.address,
      family: q.family,
      eniId: '',
      deviceNumber: -1,
      routeTableId: 0,
    };
  }

  /** Undoes an unassign whose checkpoint write failed. */
  undoUnassign(r: Released): void {
    const assignedAtNs = r.assignedAtNs;
    const eni = this.enis.get(r.eniId);
    const cidr = eni && [...eni.cidrs.values()].find((c) => cidrContains(c.cidr, r.address));
    if (!eni || !cidr) {
      this.quarantined.set(keyString(r.key), {
        key: r.key,
        metadata: r.metadata,
        address: r.address,
        family: r.family,
        assignedAtNs,
      });
      return;
    }
    const entry: AddressEntry = { address: r.address, key: r.key, metadata: r.metadata, assignedAtNs };
    cidr.addresses.set(r.address, entry);
    this.byKey.set(keyString(r.key), { eni, cidr, entry });
  }

  private release(loc: Location): Released {
    const { eni, cidr, entry } = loc;
    const out: Released = {
      key: entry.key as IpamKey,
      metadata: entry.metadata as PodMetadata,
      assignedAtNs: entry.assignedAtNs ?? 0n,
      address: entry.address,
      family: cidr.cidr.family,
      eniId: eni.id,
      deviceNumber: eni.deviceNumber,
      routeTableId: eni.routeTableId,
    };
    this.byKey.delete(keyString(out.key));
    cidr.addresses.set(entry.address, { address: entry.address, unassignedAtMs: this.nowMs() });
    return out;
  }

  // --- restore (docs/architecture.md#checkpoint-file) ---

  /**
   * Re-marks checkpointed allocations. An address on no known CIDR is quarantined (kept and reported, never
   * dropped: upstream #3876); an address that two allocations claim is a start-up error.
   */
  restore(allocations: readonly Allocation[]): { restored: number; quarantined: Allocation[] } {
    let restored = 0;
    const quarantined: Allocation[] = [];
    for (const a of allocations) {
      const found = this.findCidrOf(a.address);
      if (!found) {
        this.quarantined.set(keyString(a.key), a);
        quarantined.push(a);
        continue;
      }
      this.attach(found.eni, found.cidr, a);
      restored++;
    }
    return { restored, quarantined };
  }

  private attach(eni: EniEntry, cidr: CidrEntry, a: Allocation): void {
    const address = canonicalIp(a.address);
    const prev = cidr.addresses.get(address);
    if (prev?.key && keyString(prev.key) !== keyString(a.key))
      throw new DatastoreError(
        'address-conflict',
        `datastore: IP already in data store (${address} claimed twice)`,
      );
    const entry: AddressEntry = { address, key: a.key, metadata: a.metadata, assignedAtNs: a.assignedAtNs };
    cidr.addresses.set(address, entry);
    this.byKey.set(keyString(a.key), { eni, cidr, entry });
  }

  private findCidrOf(ip: string): { eni: EniEntry; cidr: CidrEntry } | undefined {
    for (const eni of this.sortedEnis())
      for (const cidr of eni.cidrs.values()) if (cidrContains(cidr.cidr, ip)) return { eni, cidr };
    return undefined;
  }

  // --- reading ---

  /** Whether the address is inside a CIDR of one of this datastore's ENIs (in use or not). */
  holds(ip: string): boolean {
    return this.findCidrOf(ip) !== undefined;
  }

  /** Every allocation, assigned or quarantined (what the checkpoint holds). */
  allocations(): { allocation: Allocation; quarantined: boolean }[] {
    const out: { allocation: Allocation; quarantined: boolean }[] = [];
    // The same object every time while the allocation is unchanged: the journal's diff recognises it by identity.
    for (const loc of this.byKey.values())
      out.push((loc.snapshot ??= { allocation: this.allocationOf(loc), quarantined: false }));
    for (const a of this.quarantined.values()) out.push({ allocation: a, quarantined: true });
    return out;
  }

  quarantinedAllocations(): Allocation[] {
    return [...this.quarantined.values()];
  }

  lookup(key: IpamKey): Assigned | undefined {
    const loc = this.byKey.get(keyString(key));
    return loc ? this.assignedOf(loc) : undefined;
  }

  /**
   * Pool numbers of the active mode, skipping excluded ENIs (docs/architecture.md#subnet-discovery). Cooling
   * addresses count as available.
   */
  stats(): IpStats {
    return this.rules.stats(this.enis.values());
  }

  /** ENIs with their CIDRs and per-address state (introspection, pool decisions). */
  eniList(): readonly EniEntry[] {
    return this.sortedEnis();
  }

  hasEni(id: string): boolean {
    return this.enis.has(id);
  }

  assignedCount(eniId: string): number {
    return this.assignedOn(this.eni(eniId)).length;
  }

  coolingCount(eniId: string): number {
    let n = 0;
    for (const c of this.eni(eniId).cidrs.values()) n += this.rules.countCooling(c);
    return n;
  }

  /** Milliseconds until the first cooling address (of an active CIDR, on a pod ENI) is free again; undefined if none. */
  msUntilCooled(): number | undefined {
    return this.rules.msUntilCooled(this.enis.values());
  }

  // --- helpers ---

  private assignedOn(eni: EniEntry): Location[] {
    const out: Location[] = [];
    for (const cidr of eni.cidrs.values())
      for (const entry of cidr.addresses.values()) if (entry.key) out.push({ eni, cidr, entry });
    return out;
  }

  private sortedEnis(): EniEntry[] {
    this.enisSorted ??= [...this.enis.values()].sort(
      (a, b) => a.deviceNumber - b.deviceNumber || a.id.localeCompare(b.id),
    );
    return this.enisSorted;
  }

  private sortedCidrs(eni: EniEntry): CidrEntry[] {
    let list = this.cidrsSorted.get(eni);
    if (!list) {
      list = [...eni.cidrs.values()].sort((a, b) =>
        a.cidr.base < b.cidr.base ? -1 : a.cidr.base > b.cidr.base ? 1 : 0,
      );
      this.cidrsSorted.set(eni, list);
    }
    return list;
  }

  private assignedOf(loc: Location): Assigned {
    return {
      address: loc.entry.address,
      family: loc.cidr.cidr.family,
      eniId: loc.eni.id,
      deviceNumber: loc.eni.deviceNumber,
      routeTableId: loc.eni.routeTableId,
    };
  }

  private allocationOf(loc: Location): Allocation {
    return {
      key: loc.entry.key as IpamKey,
      address: loc.entry.address,
      family: loc.cidr.cidr.family,
      metadata: loc.entry.metadata as PodMetadata,
      assignedAtNs: loc.entry.assignedAtNs ?? 0n,
    };
  }
}
