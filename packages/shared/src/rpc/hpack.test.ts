// HPACK against RFC 7541's own examples (Appendix C) and properties of the Huffman code.
import { describe, expect, it } from 'vitest';
import { HpackDecoder, HpackError, encodeHeaders, huffmanCode, huffmanDecode } from './hpack.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Encodes with the canonical code, for round trips over every symbol. */
function huffmanEncode(bytes: Uint8Array): Buffer {
  let acc = 0n;
  let bits = 0;
  for (const b of bytes) {
    const { code, bits: n } = huffmanCode(b);
    acc = (acc << BigInt(n)) | BigInt(code);
    bits += n;
  }
  const pad = (8 - (bits % 8)) % 8;
  acc = (acc << BigInt(pad)) | ((1n << BigInt(pad)) - 1n);
  bits += pad;
  const out = Buffer.alloc(bits / 8);
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(acc & 0xffn);
    acc >>= 8n;
  }
  return out;
}

describe('Huffman code (RFC 7541 Appendix B)', () => {
  it('is a complete prefix code (Kraft sum exactly 1) with the RFC codes for sample symbols', () => {
    let kraft = 0;
    for (let s = 0; s <= 256; s++) kraft += 2 ** -huffmanCode(s).bits;
    expect(kraft).toBe(1);
    expect(huffmanCode(0x30)).toEqual({ code: 0x0, bits: 5 }); // '0'
    expect(huffmanCode(0x20)).toEqual({ code: 0x14, bits: 6 }); // ' '
    expect(huffmanCode(0x7b)).toEqual({ code: 0x7ffe, bits: 15 }); // '{'
    expect(huffmanCode(256)).toEqual({ code: 0x3fffffff, bits: 30 }); // EOS
  });
  it('decodes the RFC examples and every byte value', () => {
    expect(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff')).toString()).toBe('www.example.com');
    expect(huffmanDecode(hex('a8eb 1064 9cbf')).toString()).toBe('no-cache');
    expect(huffmanDecode(hex('6402')).toString()).toBe('302');
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(huffmanDecode(huffmanEncode(all))).toEqual(all);
  });
  it('rejects bad padding and an encoded EOS', () => {
    expect(() => huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4fe'))).toThrow(HpackError);
    expect(() => huffmanDecode(hex('ffff ffff'))).toThrow(HpackError);
  });
});

describe('HpackDecoder (RFC 7541 Appendix C)', () => {
  it('C.3: requests without Huffman, sharing the dynamic table', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    expect(d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'))).toEqual(
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/index.html'],
        [':authority', 'www.example.com'],
        ['custom-key', 'custom-value'],
      ],
    );
  });
  it('C.6: responses with Huffman and evictions from a 256-octet table', () => {
    const d = new HpackDecoder(256);
    const first = hex(
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
    );
    expect(d.decode(first)).toEqual([
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ]);
    expect(d.decode(hex('4883 640e ffc1 c0bf'))).toEqual([
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ]);
  });
  it('applies table size updates and rejects out-of-range indexes', () => {
    const d = new HpackDecoder();
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'));
    expect(d.decode(hex('be'))).toEqual([['custom-key', 'custom-value']]);
    expect(() => d.decode(hex('20 be'))).toThrow(/out of range/); // size 0 evicts everything
    expect(() => new HpackDecoder().decode(hex('3fe1 2f'))).toThrow(/table size/); // 6144, above the 4096 limit
  });
  it('reads back what encodeHeaders writes, including long values', () => {
    const headers: Array<[string, string]> = [
      [':path', '/rpc.CNIBackend/AddNetwork'],
      ['grpc-timeout', '30000m'],
      ['x-long', 'v'.repeat(300)],
    ];
    expect(new HpackDecoder().decode(encodeHeaders(headers))).toEqual(headers);
  });
  it('decodes repeated and distinct strings alike across decoders (the shared string cache), Huffman or not', () => {
    // More distinct strings than the cache holds, each decoded twice by different decoders.
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 600; i++) {
        const headers: Array<[string, string]> = [
          [`x-name-${i % 7}`, `value-${i}`],
          ['content-type', 'application/grpc'],
        ];
        expect(new HpackDecoder().decode(encodeHeaders(headers))).toEqual(headers);
      }
    // The same bytes as a raw string and as a Huffman string are different texts.
    const www = 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'; // "www.example.com" (RFC 7541 C.4.1)
    const raw = Buffer.from(www.replace(/ /g, ''), 'hex').toString('latin1');
    expect(new HpackDecoder().decode(hex(`0001 78 0c ${www}`))).toEqual([['x', raw]]);
    expect(new HpackDecoder().decode(hex(`0001 78 8c ${www}`))).toEqual([['x', 'www.example.com']]);
    expect(new HpackDecoder().decode(hex(`0001 78 0c ${www}`))).toEqual([['x', raw]]);
  });
});
