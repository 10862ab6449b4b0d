// Durable allocation state: the upstream-format checkpoint file with group commit, and recovery of allocations
// from the host's routes when the file is lost or corrupt.
export { Checkpoint, type LoadResult } from './checkpoint.js';
// recover.ts (netlink, koffi) is imported on demand: only a lost checkpoint needs it.
export {
  CHECKPOINT_VERSION,
  CheckpointFormatError,
  decodeCheckpoint,
  encodeCheckpoint,
  type CheckpointEntry,
} from './format.js';
