// The diff applied to one policy map: every insert/update first, then every delete, so a rule that moves from
// one key to another is never transiently missing. Pure.

export interface MapDiff {
  upserts: [key: Buffer, value: Buffer][];
  deletes: Buffer[];
}

/** `shadow`: key hex → value bytes as the kernel holds them; `desired`: key hex → [key bytes, value bytes]. */
export function planDiff(
  shadow: ReadonlyMap<string, Buffer>,
  desired: ReadonlyMap<string, readonly [Buffer, Buffer]>,
): MapDiff {
  const upserts: [Buffer, Buffer][] = [];
  for (const [hex, [k, v]] of desired) {
    const cur = shadow.get(hex);
    if (!cur || !cur.equals(v)) upserts.push([k, v]);
  }
  const deletes: Buffer[] = [];
  for (const hex of shadow.keys()) if (!desired.has(hex)) deletes.push(Buffer.from(hex, 'hex'));
  return { upserts, deletes };
}
