// Safe, bounded descriptions of untrusted values (a config field, a peer's bytes) for error messages: the type
// and a short excerpt, computed without recursion, so a value nested 100,000 levels deep or megabytes long costs
// a few dozen steps and can never overflow the stack or flood a log line.

/** The default excerpt length in characters. */
export const EXCERPT_CHARS = 60;

type Item =
  | { readonly text: string }
  | { readonly value: unknown }
  | { readonly iter: Iterator<[string, unknown]>; readonly array: boolean; first: boolean };

function entries(o: object, array: boolean): Iterator<[string, unknown]> {
  if (array) {
    const a = o as unknown[];
    let i = 0;
    return {
      next: () =>
        i < a.length ? { done: false, value: [String(i), a[i++]] } : { done: true, value: undefined },
    };
  }
  const keys = Object.keys(o)[Symbol.iterator]();
  return {
    next: () => {
      const k = keys.next();
      return k.done
        ? { done: true, value: undefined }
        : { done: false, value: [k.value, (o as Record<string, unknown>)[k.value]] };
    },
  };
}

function scalar(v: unknown, max: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > max ? v.slice(0, max) : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  return `<${typeof v}>`;
}

/** A JSON-like excerpt of `v`, at most `max` characters (then ending with `…`). */
export function excerpt(v: unknown, max = EXCERPT_CHARS): string {
  let out = '';
  const stack: Item[] = [{ value: v }];
  while (stack.length > 0 && out.length <= max) {
    const item = stack.pop() as Item;
    if ('text' in item) {
      out += item.text;
    } else if ('value' in item) {
      const x = item.value;
      if (typeof x === 'object' && x !== null) {
        const array = Array.isArray(x);
        out += array ? '[' : '{';
        stack.push({ iter: entries(x, array), array, first: true });
      } else {
        out += scalar(x, max);
      }
    } else {
      const next = item.iter.next();
      if (next.done) {
        out += item.array ? ']' : '}';
        continue;
      }
      if (!item.first) out += ',';
      item.first = false;
      stack.push(item);
      const [k, x] = next.value;
      stack.push({ value: x });
      if (!item.array) out += `${JSON.stringify(k.length > max ? k.slice(0, max) : k)}:`;
    }
  }
  return out.length > max || stack.length > 0 ? `${out.slice(0, max)}…` : out;
}

/** The JSON type of `v` with its article: "a string", "an array", "null", ... */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  if (t === 'object') return 'an object';
  return t === 'undefined' ? 'undefined' : `a ${t}`;
}

/** "a number (2147483648)", "an array ([[[[[…)", "a string ("nohost")": safe for any value. */
export function describeValue(v: unknown, max = EXCERPT_CHARS): string {
  if (v === null || v === undefined) return typeName(v);
  return `${typeName(v)} (${excerpt(v, max)})`;
}

/** A string shown as is (no quotes) but cut to `max` characters, for messages that keep upstream's wording. */
export function clip(s: string, max = EXCERPT_CHARS): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
