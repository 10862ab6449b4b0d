// The checkpoint file format, upstream's `vpc-cni-ipam/1` (docs/architecture.md#checkpoint-file), so an
// in-place swap from upstream aws-node keeps running pods' addresses. Field order as upstream writes it.
// allocationTimestamp is int64 nanoseconds, beyond a JS number's exact range, so it is written and read as a
// bigint via the raw text. Our one addition: `"quarantined": true` on an allocation whose address is on no
// ENI yet (upstream ignores unknown fields, and would drop such an entry at its next start, as it always
// did).
import type { Allocation } from '../store/index.js';

export const CHECKPOINT_VERSION = 'vpc-cni-ipam/1';

export interface CheckpointEntry {
  allocation: Allocation;
  quarantined: boolean;
}

/** One allocation as upstream writes it in the `allocations` list (also a journal record's entry). */
export function encodeEntry({ allocation: a, quarantined }: CheckpointEntry): string {
  const m: Record<string, unknown> = {};
  if (a.metadata.k8sPodNamespace) m['k8sPodNamespace'] = a.metadata.k8sPodNamespace;
  if (a.metadata.k8sPodName) m['k8sPodName'] = a.metadata.k8sPodName;
  if (a.metadata.interfacesCount) m['interfacesCount'] = a.metadata.interfacesCount;
  const head = JSON.stringify({
    networkName: a.key.networkName,
    containerID: a.key.containerID,
    ifName: a.key.ifName,
    ...(a.family === 4 ? { ipv4: a.address } : { ipv6: a.address }),
  });
  // Splice the bigint in as a bare number, then the rest.
  const tail = `,"allocationTimestamp":${a.assignedAtNs.toString()},"metadata":${JSON.stringify(m)}${
    quarantined ? ',"quarantined":true' : ''
  }}`;
  return head.slice(0, -1) + tail;
}

/**
 * The whole file from entries already encoded by encodeEntry. `journalFrom`: the first journal generation whose
 * records are not in this file (written by ipamd's compaction; upstream drops the field when it rewrites the
 * file, so a file without it is never combined with our journal).
 */
export const checkpointText = (encoded: Iterable<string>, journalFrom?: number): string =>
  `{"version":${JSON.stringify(CHECKPOINT_VERSION)},"allocations":[${[...encoded].join(',')}]${
    journalFrom === undefined ? '' : `,"journalFrom":${journalFrom}`
  }}\n`;

export function encodeCheckpoint(entries: readonly CheckpointEntry[], journalFrom?: number): string {
  return checkpointText(entries.map(encodeEntry), journalFrom);
}

export class CheckpointFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointFormatError';
  }
}

const str = (o: Record<string, unknown>, k: string): string => {
  const v = o[k];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new CheckpointFormatError(`field ${k} is not a string`);
  return v;
};

/** JSON.parse keeping the nanosecond timestamps exact (quoted before JSON.parse would round them). */
export function parseExact(text: string): unknown {
  const safe = text.replace(/"allocationTimestamp"\s*:\s*(-?\d+)/g, '"allocationTimestamp":"$1"');
  try {
    return JSON.parse(safe);
  } catch (e) {
    throw new CheckpointFormatError(`not JSON (${(e as Error).message})`);
  }
}

export function decodeCheckpoint(text: string): CheckpointEntry[] {
  return decodeCheckpointFile(text).entries;
}

/** The entries and, when ipamd's compaction wrote the file, the journal generation it continues with. */
export function decodeCheckpointFile(text: string): { entries: CheckpointEntry[]; journalFrom?: number } {
  const doc = parseExact(text);
  const d = doc as { version?: unknown; allocations?: unknown; journalFrom?: unknown };
  if (typeof doc !== 'object' || doc === null) throw new CheckpointFormatError('not a JSON object');
  if (d.version !== CHECKPOINT_VERSION)
    throw new CheckpointFormatError(`version ${JSON.stringify(d.version)} is not ${CHECKPOINT_VERSION}`);
  if (!Array.isArray(d.allocations)) throw new CheckpointFormatError('allocations is not a list');
  const entries = d.allocations.map(decodeEntry);
  if (d.journalFrom === undefined) return { entries };
  if (typeof d.journalFrom !== 'number' || !Number.isSafeInteger(d.journalFrom) || d.journalFrom < 0)
    throw new CheckpointFormatError('journalFrom is not a generation number');
  return { entries, journalFrom: d.journalFrom };
}

/** One element of `allocations`, parsed by parseExact. */
export function decodeEntry(raw: unknown, i: number): CheckpointEntry {
  if (typeof raw !== 'object' || raw === null)
    throw new CheckpointFormatError(`allocation ${i} is not an object`);
  const o = raw as Record<string, unknown>;
  const ipv4 = str(o, 'ipv4');
  const ipv6 = str(o, 'ipv6');
  if ((ipv4 === '') === (ipv6 === ''))
    throw new CheckpointFormatError(`allocation ${i} must have exactly one of ipv4/ipv6`);
  const m = (o['metadata'] ?? {}) as Record<string, unknown>;
  const ts = o['allocationTimestamp'];
  return {
    quarantined: o['quarantined'] === true,
    allocation: {
      key: {
        networkName: str(o, 'networkName'),
        containerID: str(o, 'containerID'),
        ifName: str(o, 'ifName'),
      },
      address: ipv4 || ipv6,
      family: ipv4 ? 4 : 6,
      metadata: {
        k8sPodNamespace: str(m, 'k8sPodNamespace'),
        k8sPodName: str(m, 'k8sPodName'),
        interfacesCount: typeof m['interfacesCount'] === 'number' ? m['interfacesCount'] : 0,
      },
      assignedAtNs: typeof ts === 'string' ? BigInt(ts) : 0n,
    },
  };
}
