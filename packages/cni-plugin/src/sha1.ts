// SHA-1 of a short UTF-8 string, for the upstream-compatible veth names (names.ts). Written out here because
// loading node:crypto costs ~3 ms of every plugin start, far more than hashing a pod name ever will; this is
// not used for anything security-related.

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

/** SHA-1 (FIPS 180-4) of `text` as UTF-8, in lower-case hex. */
export function sha1Hex(text: string): string {
  const msg = Buffer.from(text, 'utf8');
  const bitLen = msg.length * 8;
  const total = (((msg.length + 8) >> 6) + 1) * 64; // message + 0x80 + length, rounded up to 64-byte blocks
  const block = Buffer.alloc(total);
  msg.copy(block);
  block[msg.length] = 0x80;
  block.writeUInt32BE(Math.floor(bitLen / 0x100000000), total - 8);
  block.writeUInt32BE(bitLen >>> 0, total - 4);

  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const w = new Int32Array(80);
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = block.readInt32BE(off + i * 4);
    for (let i = 16; i < 80; i++) w[i] = rotl(w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!, 1);
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const t = (rotl(a, 5) + f + e + k + w[i]!) | 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  return [h0, h1, h2, h3, h4].map((h) => (h >>> 0).toString(16).padStart(8, '0')).join('');
}
