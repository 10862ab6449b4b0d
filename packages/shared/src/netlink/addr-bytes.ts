// IP address text <-> network-order bytes, as netlink carries them.
import { isIPv4, isIPv6 } from '../ipmath/ip-syntax.js';
import { NetlinkDecodeError } from './codec.js';

export function ipToBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`not an IP address: "${ip}"`);
  const [head, tail] = ip.includes('::') ? (ip.split('::') as [string, string]) : [ip, undefined];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4tail = (s: string): string[] => {
    const parts = s.split(':');
    const last = parts[parts.length - 1] as string;
    if (!isIPv4(last)) return parts;
    const b = last.split('.').map(Number) as [number, number, number, number];
    return [...parts.slice(0, -1), ((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16)];
  };
  const h = head ? v4tail(head) : [];
  const t = tail ? v4tail(tail) : [];
  const fill = ip.includes('::') ? 8 - h.length - t.length : 0;
  const hextets = [...h, ...Array<string>(fill).fill('0'), ...t];
  const out = Buffer.alloc(16);
  hextets.forEach((x, i) => out.writeUInt16BE(parseInt(x, 16), i * 2));
  return out;
}

export function bytesToIp(b: Buffer): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) throw new NetlinkDecodeError(`address of ${b.length} bytes`);
  const h = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // Compress the longest run of zero hextets (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (h[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && h[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = h.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** "10.0.1.0/24" or "10.0.1.5" (host) → address and prefix length. */
export function parsePrefix(cidr: string): { ip: string; bits: number; family: 4 | 6 } {
  const [ip, bitsText] = cidr.split('/') as [string, string | undefined];
  const family = isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : 0;
  if (family === 0) throw new Error(`not an IP prefix: "${cidr}"`);
  const max = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`bad prefix length in "${cidr}"`);
  return { ip, bits, family };
}
