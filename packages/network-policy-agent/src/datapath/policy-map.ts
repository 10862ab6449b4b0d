// One pinned NP policy map with its userspace shadow (key → value bytes as last written or read). The shadow is
// hydrated from the kernel on first use (also after an agent restart), so every later write is a diff.
import type { Family, NpMapContent } from './contract.js';
import { mapDelete, mapKeys, mapLookup, mapUpdate } from './bpf-object.js';
import { DatapathError } from './errors.js';
import { NP_VALUE_SIZE, decodeNpValue, decodeTrieKey, encodeNpContent, trieKeySize } from './layout.js';
import { planDiff } from './map-diff.js';
import { errnoName } from '@vpc-cni/shared/netlink';

export const POLICY_MAP_MAX_ENTRIES = 65536;

export interface WriteResult {
  upserts: number;
  deletes: number;
  /** Deletes the kernel refused; still in the shadow, retried by the next write. */
  failedDeletes: { key: string; error: string }[];
}

export class PolicyMap {
  private shadow: Map<string, Buffer> | undefined;

  constructor(
    readonly fd: number,
    readonly family: Family,
    readonly name: string,
  ) {}

  private hydrate(): Map<string, Buffer> {
    if (this.shadow) return this.shadow;
    const s = new Map<string, Buffer>();
    for (const k of mapKeys(this.fd, trieKeySize(this.family))) {
      const v = mapLookup(this.fd, k, NP_VALUE_SIZE);
      if (v) s.set(k.toString('hex'), v);
    }
    this.shadow = s;
    return s;
  }

  write(content: NpMapContent): WriteResult {
    // Encode everything first: bad input is refused before any byte reaches the kernel.
    const desired = encodeNpContent(content, this.family);
    if (desired.size > POLICY_MAP_MAX_ENTRIES)
      throw new DatapathError(
        'BAD_INPUT',
        `${desired.size} CIDRs for ${this.name}: a policy map holds at most ${POLICY_MAP_MAX_ENTRIES}; nothing written`,
      );
    const shadow = this.hydrate();
    const diff = planDiff(shadow, desired);
    for (const [k, v] of diff.upserts) {
      const rc = mapUpdate(this.fd, k, v);
      if (rc < 0)
        throw new DatapathError(
          'MAP_OP_FAILED',
          `update ${this.name} ${decodeTrieKey(k)} (entries written before it stay; no deletes done)`,
          -rc,
        );
      shadow.set(k.toString('hex'), v);
    }
    const failedDeletes: WriteResult['failedDeletes'] = [];
    for (const k of diff.deletes) {
      const rc = mapDelete(this.fd, k);
      if (rc < 0 && rc !== -2) {
        failedDeletes.push({ key: decodeTrieKey(k), error: errnoName(-rc) });
        continue;
      }
      shadow.delete(k.toString('hex'));
    }
    return {
      upserts: diff.upserts.length,
      deletes: diff.deletes.length - failedDeletes.length,
      failedDeletes,
    };
  }

  /** The content as the kernel holds it now (also refreshes the shadow). */
  read(): NpMapContent {
    this.shadow = undefined;
    const out = new Map<string, ReturnType<typeof decodeNpValue>>();
    for (const [hex, v] of this.hydrate()) out.set(decodeTrieKey(Buffer.from(hex, 'hex')), decodeNpValue(v));
    return out;
  }
}
