// Reading a checkpoint as ipamd's start reads it, without ipamd: for tests and tools
// (docs/architecture.md#checkpoint-file).
import { readFileSync } from 'node:fs';
import { decodeCheckpointFile } from './format.js';
import { replay, scanSegment } from './journal-format.js';
import { listSegments } from './segment-files.js';

/**
 * The allocations a checkpoint holds, read as ipamd's own start reads them (the file with its journal replayed):
 * what an ADD acknowledged is here even before the next compaction rewrites the file. Read-only (a corrupt file is
 * not moved aside) and synchronous; for tests and tools.
 */
export function readDurableAllocations(path: string): { containerID: string; address: string }[] {
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const file = text === undefined ? { entries: [] } : decodeCheckpointFile(text);
  const records: string[] = [];
  if (file.journalFrom !== undefined)
    for (const s of listSegments(path))
      if (s.gen >= file.journalFrom) records.push(...scanSegment(readFileSync(s.path), s.gen).records);
  return replay(file.entries, records).map((e) => ({
    containerID: e.allocation.key.containerID,
    address: e.allocation.address,
  }));
}

/** The addresses of `readDurableAllocations(path)`. */
export function durableAddresses(path: string): Promise<string[]> {
  return Promise.resolve(readDurableAllocations(path).map((a) => a.address));
}
