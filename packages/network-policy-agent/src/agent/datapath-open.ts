// Where the agent gets its eBPF datapath. The datapath (bpf/, src/datapath/) is built separately; until it is
// part of the build, opening it fails with a message saying so, and an agent with network policy enabled exits.
import type { Logger } from '@vpc-cni/shared/logging';
import type { Family, PolicyDatapath } from '../datapath/contract.js';

export interface DatapathOpenOptions {
  family: Family;
  /** The bpffs mount (pins live under <root>/globals/aws). */
  bpffsRoot: string;
  conntrackTableSize: number;
  logger: Logger;
}

export type OpenDatapath = (o: DatapathOpenOptions) => PolicyDatapath;

export const openDatapath: OpenDatapath = () => {
  throw new Error(
    'the eBPF datapath is not part of this build (packages/network-policy-agent/src/datapath); ' +
      'run with --enable-network-policy=false or use a build that includes it',
  );
};
