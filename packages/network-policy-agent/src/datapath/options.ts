// Options of the eBPF datapath and where its compiled objects are found (README.md, "API behaviour").
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@vpc-cni/shared/logging';
import type { Family } from './contract.js';

export const DEFAULT_CONNTRACK_ENTRIES = 524288;
export interface DatapathOptions {
  family: Family;
  /** Pin root on a bpffs; default /sys/fs/bpf/globals/aws. */
  pinRoot?: string;
  /** Directory of the compiled objects; default: defaultObjectDir(). */
  objectDir?: string;
  /** Conntrack map size when it is created (--conntrack-cache-table-size). */
  conntrackEntries?: number;
  /** Network namespace holding the host veths and the conntrack table (tests); default: the current one. */
  netns?: string;
  /**
   * Warm pool size (pool.ts): program pairs pre-loaded in a worker thread so a new key's attach does not wait
   * for the verifier. 0 (the default here; the agent passes DEFAULT_POOL_SIZE) = every new key loads inline.
   * Pool pins left by an earlier run are adopted or removed at open in any case.
   */
  poolSize?: number;
  /** How long a full pool keeps its loader thread before retiring it; default 5 s (tests shorten it). */
  poolWorkerIdleMs?: number;
  /** Interface name prefixes scanned for our filters (listKeys, program swaps); default eni, vlan. */
  vethPrefixes?: readonly string[];
  log?: Logger;
}

/** dist/bpf next to dist/bin (the single executable), else the repository's dist/bpf (tests, tsx). */
export function defaultObjectDir(): string {
  if (process.env.NPA_BPF_DIR) return process.env.NPA_BPF_DIR;
  const exeDir = dirname(process.execPath);
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(exeDir, '../bpf'), resolve(here, '../../../../dist/bpf')];
  return candidates.find((c) => existsSync(c)) ?? candidates[candidates.length - 1]!;
}
