// HPACK (RFC 7541) for the light gRPC client: a complete decoder (static + dynamic table, Huffman strings,
// table size updates) and the one encoding the client needs (literal without indexing, no Huffman), which
// keeps the server's view of our dynamic table empty.

/** RFC 7541 Appendix A: index 1..61. */
const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/**
 * RFC 7541 Appendix B code lengths for symbols 0..256 (256 = EOS). The code is canonical (codes ordered by
 * length, then symbol), so the lengths alone define it; the test checks the RFC's own examples.
 */
const HUFFMAN_LENGTHS =
  '13,23,28,28,28,28,28,28,28,24,30,28,28,30,28,28,28,28,28,28,28,28,30,28,28,28,28,28,28,28,28,28,6,10,10,12,' +
  '13,6,8,11,10,10,8,11,8,6,6,6,5,5,5,6,6,6,6,6,6,6,7,8,15,6,12,10,13,6,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,7,' +
  '7,7,7,8,7,8,13,19,13,14,6,15,5,6,5,6,5,6,6,6,5,7,7,6,6,6,5,6,7,6,5,5,6,7,7,7,7,7,15,11,14,13,28,20,22,20,20,' +
  '22,22,22,23,22,23,23,23,23,23,24,23,24,24,22,23,24,23,23,23,23,21,22,23,22,23,23,24,22,21,20,22,22,23,23,21,' +
  '23,22,22,24,21,22,23,23,21,21,22,21,23,22,23,23,20,22,22,22,23,22,22,23,26,26,20,19,22,23,22,25,26,26,26,27,' +
  '27,26,24,25,19,21,26,27,27,26,27,24,21,21,26,26,28,27,27,27,20,24,20,21,22,21,21,23,22,22,25,25,24,24,26,23,' +
  '26,27,26,26,27,27,27,27,27,28,27,27,27,27,27,26,30';

const EOS = 256;
const MAX_CODE_BITS = 30;

/** Canonical decoding tables: per length, the first code, how many codes, and where they start in `symbols`. */
interface HuffmanTables {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly offset: Int32Array;
  readonly symbols: Uint16Array;
}

let tables: HuffmanTables | undefined;

function huffmanTables(): HuffmanTables {
  if (tables) return tables;
  const lengths = HUFFMAN_LENGTHS.split(',').map(Number);
  const count = new Int32Array(MAX_CODE_BITS + 1);
  for (const l of lengths) count[l] = (count[l] ?? 0) + 1;
  // Canonical order (by length, then symbol) by counting rather than sorting: this runs once per aws-cni
  // start, in the interpreter, where a comparator sort of 257 entries costs ~0.3 ms.
  const next = new Int32Array(MAX_CODE_BITS + 2);
  for (let len = 1; len <= MAX_CODE_BITS; len++) next[len + 1] = (next[len] ?? 0) + (count[len] ?? 0);
  const symbols = new Uint16Array(lengths.length);
  lengths.forEach((len, sym) => {
    symbols[next[len] ?? 0] = sym;
    next[len] = (next[len] ?? 0) + 1;
  });
  const first = new Int32Array(MAX_CODE_BITS + 1);
  const offset = new Int32Array(MAX_CODE_BITS + 1);
  let code = 0;
  let index = 0;
  for (let len = 1; len <= MAX_CODE_BITS; len++) {
    code <<= 1;
    first[len] = code;
    offset[len] = index;
    code += count[len] ?? 0;
    index += count[len] ?? 0;
  }
  return (tables = { first, count, offset, symbols });
}

/** The canonical code of a symbol (tests and encoders). */
export function huffmanCode(symbol: number): { code: number; bits: number } {
  const t = huffmanTables();
  const at = t.symbols.indexOf(symbol);
  for (let len = 1; len <= MAX_CODE_BITS; len++) {
    const o = t.offset[len] ?? 0;
    const c = t.count[len] ?? 0;
    if (at >= o && at < o + c) return { code: (t.first[len] ?? 0) + (at - o), bits: len };
  }
  throw new Error(`no Huffman code for ${symbol}`);
}

export class HpackError extends Error {}

export function huffmanDecode(data: Uint8Array): Buffer {
  const t = huffmanTables();
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of data) {
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len += 1;
      const i = code - (t.first[len] ?? 0);
      if (i >= 0 && i < (t.count[len] ?? 0)) {
        const sym = t.symbols[(t.offset[len] ?? 0) + i] ?? EOS;
        if (sym === EOS) throw new HpackError('Huffman string contains EOS');
        out.push(sym);
        code = 0;
        len = 0;
      } else if (len >= MAX_CODE_BITS) {
        throw new HpackError('invalid Huffman code');
      }
    }
  }
  // Padding: fewer than 8 bits, all ones (the most significant bits of EOS).
  if (len > 7 || code !== (1 << len) - 1) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out);
}

/** Strings up to this many bytes are looked up in (and added to) the cache below. */
const CACHED_MAX = 64;
const CACHE_ENTRIES = 256;
/**
 * The decoded text of recent header strings, by their encoded bytes: a server sees the same few names and values
 * (`:path`, `content-type`, `te`...) in every request, on every connection (aws-cni opens one per call), and
 * decoding each one anew made a buffer copy and a string per header (docs/architecture.md#decisions, 16).
 * Keyed by a hash of the bytes and checked against a copy of them; cleared when full.
 */
const stringCache = new Map<number, { raw: Uint8Array; huffman: boolean; text: string }>();

function stringAt(buf: Uint8Array, start: number, end: number, huffman: boolean): string {
  const len = end - start;
  if (len > CACHED_MAX) return decodeString(buf, start, end, huffman);
  let h = huffman ? 0x811c9dc5 ^ 1 : 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
  const known = stringCache.get(h);
  if (known && known.huffman === huffman && known.raw.length === len) {
    let same = true;
    for (let i = 0; i < len; i++)
      if (known.raw[i] !== buf[start + i]) {
        same = false;
        break;
      }
    if (same) return known.text;
  }
  const text = decodeString(buf, start, end, huffman);
  if (stringCache.size >= CACHE_ENTRIES) stringCache.clear();
  // A copy: the block's bytes are a view of a socket read.
  const raw = new Uint8Array(len);
  raw.set(buf.subarray(start, end));
  stringCache.set(h, { raw, huffman, text });
  return text;
}

function decodeString(buf: Uint8Array, start: number, end: number, huffman: boolean): string {
  const raw = buf.subarray(start, end);
  if (huffman) return huffmanDecode(raw).toString('latin1');
  // A view, not a copy: the text is made straight from the block's bytes.
  return Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
}

export type HeaderList = Array<[string, string]>;

/** One connection's decoding context (the dynamic table lives as long as the connection). */
export class HpackDecoder {
  private dynamic: Array<[string, string]> = [];
  private size = 0;
  private maxSize: number;

  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  private entry(index: number): readonly [string, string] {
    const e = index <= STATIC.length ? STATIC[index - 1] : this.dynamic[index - STATIC.length - 1];
    if (!e || index === 0) throw new HpackError(`header index ${index} out of range`);
    return e;
  }

  private evict(): void {
    while (this.size > this.maxSize) {
      const e = this.dynamic.pop();
      if (!e) break;
      this.size -= e[0].length + e[1].length + 32;
    }
  }

  private insert(name: string, value: string): void {
    this.dynamic.unshift([name, value]);
    this.size += name.length + value.length + 32;
    this.evict();
  }

  /** Where decode() is in its block (a cursor, so reading an integer or a string returns no [value, pos] pair). */
  private pos = 0;

  decode(block: Uint8Array): HeaderList {
    const out: HeaderList = [];
    this.pos = 0;
    while (this.pos < block.length) {
      const b = block[this.pos] ?? 0;
      if (b & 0x80) {
        const [n, v] = this.entry(this.int(block, 7));
        out.push([n, v]);
      } else if ((b & 0xe0) === 0x20) {
        const size = this.int(block, 5);
        if (size > this.limit) throw new HpackError(`table size ${size} above ${this.limit}`);
        this.maxSize = size;
        this.evict();
      } else {
        const incremental = (b & 0xc0) === 0x40;
        const index = this.int(block, incremental ? 6 : 4);
        const name = index === 0 ? this.string(block) : this.entry(index)[0];
        const value = this.string(block);
        if (incremental) this.insert(name, value);
        out.push([name, value]);
      }
    }
    return out;
  }

  /** An integer with an n-bit prefix at the cursor (RFC 7541 §5.1). */
  private int(buf: Uint8Array, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let pos = this.pos;
    let value = (buf[pos] ?? 0) & max;
    pos += 1;
    if (value >= max) {
      for (let shift = 0; ;) {
        if (pos >= buf.length) throw new HpackError('truncated integer');
        const b = buf[pos++] ?? 0;
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
        if (shift > 28) throw new HpackError('integer too large');
      }
    }
    this.pos = pos;
    return value;
  }

  /** A string literal at the cursor (RFC 7541 §5.2). */
  private string(buf: Uint8Array): string {
    if (this.pos >= buf.length) throw new HpackError('truncated string');
    const huffman = ((buf[this.pos] ?? 0) & 0x80) !== 0;
    const len = this.int(buf, 7);
    const start = this.pos;
    const end = start + len;
    if (end > buf.length) throw new HpackError('truncated string');
    this.pos = end;
    return stringAt(buf, start, end, huffman);
  }
}

function writeInt(out: number[], value: number, prefixBits: number, firstByte: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | max);
  value -= max;
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/** Encodes headers as literals without indexing (new names, raw strings). */
export function encodeHeaders(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    out.push(0);
    for (const s of [name, value]) {
      const bytes = Buffer.from(s, 'latin1');
      writeInt(out, bytes.length, 7, 0);
      for (const x of bytes) out.push(x);
    }
  }
  return Buffer.from(out);
}
