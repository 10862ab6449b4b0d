// Durable allocation state: the upstream-format checkpoint file kept current from a group-commit journal, and
// recovery of allocations from the host's routes when the file is lost or corrupt.
export {
  Checkpoint,
  type CheckpointOptions,
  type LoadResult,
  durableAddresses,
  readDurableAllocations,
} from './checkpoint.js';
export { Diff, decodeBatch, encodeBatch, encodeRecord, replay, scanSegment } from './journal-format.js';
// recover.ts (netlink, koffi) is imported on demand: only a lost checkpoint needs it.
export {
  CHECKPOINT_VERSION,
  CheckpointFormatError,
  decodeCheckpoint,
  encodeCheckpoint,
  encodeEntry,
  type CheckpointEntry,
} from './format.js';
