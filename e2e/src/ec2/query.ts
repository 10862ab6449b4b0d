// EC2 Query protocol input: form-encoded `Action=...&Version=2016-11-15&Name.1=...` into helpers for lists,
// filters and tags.
export class Params {
  constructor(readonly raw: URLSearchParams) {}

  get(name: string): string | undefined {
    return this.raw.get(name) ?? undefined;
  }

  int(name: string): number | undefined {
    const v = this.get(name);
    return v === undefined ? undefined : Number(v);
  }

  bool(name: string): boolean | undefined {
    const v = this.get(name);
    return v === undefined ? undefined : v === 'true';
  }

  /** Values of `Name.1`, `Name.2`, ... in index order. */
  list(name: string): string[] {
    const out: [number, string][] = [];
    const re = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d+)$`);
    for (const [k, v] of this.raw) {
      const m = re.exec(k);
      if (m) out.push([Number(m[1]), v]);
    }
    return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }

  /** `Filter.N.Name` / `Filter.N.Value.M`. */
  filters(): { name: string; values: string[] }[] {
    const out: { name: string; values: string[] }[] = [];
    for (let n = 1; this.get(`Filter.${n}.Name`) !== undefined; n++)
      out.push({ name: this.get(`Filter.${n}.Name`) as string, values: this.list(`Filter.${n}.Value`) });
    return out;
  }

  /** `<prefix>.N.Key` / `<prefix>.N.Value`. */
  tags(prefix: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (let n = 1; this.get(`${prefix}.${n}.Key`) !== undefined; n++)
      out[this.get(`${prefix}.${n}.Key`) as string] = this.get(`${prefix}.${n}.Value`) ?? '';
    return out;
  }
}
