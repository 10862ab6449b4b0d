// Where the agent gets its eBPF datapath (src/datapath/: the compiled objects, pins under <bpffs>/globals/aws).
import type { Logger } from '@vpc-cni/shared/logging';
import type { Family, PolicyDatapath } from '../datapath/contract.js';
import { EbpfDatapath } from '../datapath/datapath.js';
import { DEFAULT_POOL_SIZE } from '../datapath/pool.js';

export interface DatapathOpenOptions {
  family: Family;
  /** The bpffs mount (pins live under <root>/globals/aws). */
  bpffsRoot: string;
  conntrackTableSize: number;
  logger: Logger;
}

/** Whether this build includes the eBPF datapath (kernel tests and the netpol bench skip without it). */
export const DATAPATH_AVAILABLE: boolean = true;

export type OpenDatapath = (o: DatapathOpenOptions) => PolicyDatapath;

export const openDatapath: OpenDatapath = (o) =>
  new EbpfDatapath({
    family: o.family,
    pinRoot: `${o.bpffsRoot}/globals/aws`,
    conntrackEntries: o.conntrackTableSize,
    // New pods take pre-loaded programs (README "Warm pool"); a constant: upstream has no such setting.
    poolSize: DEFAULT_POOL_SIZE,
    log: o.logger,
  });
