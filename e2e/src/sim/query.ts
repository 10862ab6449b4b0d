// Reading EC2 Query parameters: `Name.1`, `Name.2` lists, `Filter.N.Name` / `Filter.N.Value.M`, `Tag.N.Key`.
import { Ec2Error, invalidParam, missingParam } from './errors.js';

export class Params {
  readonly map: Map<string, string>;
  constructor(body: string) {
    this.map = new Map(new URLSearchParams(body));
  }

  get(name: string): string | undefined {
    return this.map.get(name);
  }

  required(name: string): string {
    const v = this.map.get(name);
    if (v === undefined || v === '') throw missingParam(name);
    return v;
  }

  int(name: string): number | undefined {
    const v = this.map.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw invalidParam(`Value (${v}) for parameter ${name} is invalid.`);
    return n;
  }

  bool(name: string): boolean | undefined {
    const v = this.map.get(name);
    return v === undefined ? undefined : v === 'true';
  }

  /** `prefix.1`, `prefix.2`, … in index order (gaps allowed). */
  list(prefix: string): string[] {
    return this.indexes(prefix).map((i) => this.map.get(`${prefix}.${i}`)!);
  }

  /** Indexes N for which some key `prefix.N` or `prefix.N.*` exists, sorted. */
  indexes(prefix: string): number[] {
    const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)(?:\\.|$)`);
    const set = new Set<number>();
    for (const k of this.map.keys()) {
      const m = re.exec(k);
      if (m) set.add(Number(m[1]));
    }
    return [...set].sort((a, b) => a - b);
  }

  filters(): Filter[] {
    return this.indexes('Filter').map((i) => {
      const name = this.map.get(`Filter.${i}.Name`);
      if (!name) throw new Ec2Error('InvalidParameterValue', `Filter.${i}.Name is missing`);
      return { name, values: this.list(`Filter.${i}.Value`) };
    });
  }

  tags(prefix: string): { key: string; value: string }[] {
    return this.indexes(prefix).map((i) => ({
      key: this.map.get(`${prefix}.${i}.Key`) ?? '',
      value: this.map.get(`${prefix}.${i}.Value`) ?? '',
    }));
  }
}

export interface Filter {
  name: string;
  values: string[];
}

/** EC2 filter values may use `*` and `?` wildcards. */
function wildcard(pattern: string, value: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === value;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

/**
 * True when the resource passes every filter. `attrs` gives the resource's values for a filter name (undefined:
 * the filter is unknown for this resource → EC2 answers InvalidParameterValue); `tag:K` and `tag-key` are generic.
 */
export function matches(
  filters: Filter[],
  tags: Map<string, string>,
  attrs: (name: string) => string[] | undefined,
): boolean {
  return filters.every((f) => {
    let have: string[] | undefined;
    if (f.name.startsWith('tag:')) {
      const v = tags.get(f.name.slice(4));
      have = v === undefined ? [] : [v];
    } else if (f.name === 'tag-key') have = [...tags.keys()];
    else if (f.name === 'tag-value') have = [...tags.values()];
    else have = attrs(f.name);
    if (have === undefined) throw invalidParam(`The filter '${f.name}' is invalid`);
    return f.values.some((p) => have.some((v) => wildcard(p, v)));
  });
}

/** NextToken/MaxResults paging over an already-filtered list. */
export function paginate<T>(
  items: T[],
  p: Params,
  range: [number, number] = [5, 1000],
): { page: T[]; nextToken?: string } {
  const max = p.int('MaxResults');
  if (max !== undefined && (max < range[0] || max > range[1]))
    throw invalidParam(
      `Value ( ${max} ) for parameter maxResults is invalid. Expecting a value between ${range[0]} and ${range[1]}.`,
    );
  const tok = p.get('NextToken');
  let start = 0;
  if (tok !== undefined) {
    start = Number(Buffer.from(tok, 'base64url').toString().replace(/^off:/, ''));
    if (!Number.isInteger(start) || start < 0) throw invalidParam(`Invalid NextToken: ${tok}`);
  }
  if (max === undefined) return { page: items.slice(start) };
  const end = start + max;
  return {
    page: items.slice(start, end),
    nextToken: end < items.length ? Buffer.from(`off:${end}`).toString('base64url') : undefined,
  };
}
