// ifaddrmsg (addresses) and ndmsg (neighbours).
import { AF_INET, AF_INET6, type Attr, decodeAttrs, decoding, encodeAttrs, u32 } from './codec.js';
import { bytesToIp, ipToBytes, parsePrefix } from './addr-bytes.js';
import { bytesToMac, macToBytes } from './link-codec.js';

export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;

export interface Address {
  index: number;
  family: 4 | 6;
  /** "10.0.0.5/32", "2001:db8::5/128". */
  cidr: string;
  scope: number;
  /** IFA_F_* bits (the 32-bit IFA_FLAGS attribute when present). */
  flags: number;
}

const familyCode = (f: 4 | 6): number => (f === 4 ? AF_INET : AF_INET6);

export function encodeAddress(a: { index: number; cidr: string; scope?: number; flags?: number }): Buffer {
  const p = parsePrefix(a.cidr);
  const head = Buffer.alloc(8);
  head.writeUInt8(familyCode(p.family), 0);
  head.writeUInt8(p.bits, 1);
  head.writeUInt8((a.flags ?? 0) & 0xff, 2);
  head.writeUInt8(a.scope ?? 0, 3);
  head.writeUInt32LE(a.index, 4);
  const ip = ipToBytes(p.ip);
  const attrs: Attr[] = [{ type: IFA_LOCAL, value: ip }];
  // IPv4 carries both LOCAL and ADDRESS (peer = local for non point-to-point); IPv6 uses ADDRESS alone.
  if (p.family === 4) attrs.push({ type: IFA_ADDRESS, value: ip });
  else attrs[0] = { type: IFA_ADDRESS, value: ip };
  if (a.flags !== undefined && a.flags > 0xff) attrs.push({ type: IFA_FLAGS, value: u32(a.flags) });
  return Buffer.concat([head, encodeAttrs(attrs)]);
}

export function encodeAddressFilter(family: 0 | 4 | 6, index = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt8(family === 0 ? 0 : familyCode(family), 0);
  head.writeUInt32LE(index, 4);
  return head;
}

export function decodeAddress(payload: Buffer): Address {
  return decoding('ifaddrmsg', payload, 8, () => decodeAddressBody(payload));
}

function decodeAddressBody(payload: Buffer): Address {
  const family = payload.readUInt8(0) === AF_INET ? 4 : 6;
  const bits = payload.readUInt8(1);
  const a: Address = {
    index: payload.readUInt32LE(4),
    family,
    cidr: '',
    scope: payload.readUInt8(3),
    flags: payload.readUInt8(2),
  };
  let local: string | undefined;
  let address: string | undefined;
  for (const x of decodeAttrs(payload.subarray(8))) {
    if (x.type === IFA_LOCAL) local = bytesToIp(x.value);
    else if (x.type === IFA_ADDRESS) address = bytesToIp(x.value);
    else if (x.type === IFA_FLAGS) a.flags = x.value.readUInt32LE(0);
  }
  a.cidr = `${local ?? address ?? ''}/${bits}`;
  return a;
}

const NDA_DST = 1;
const NDA_LLADDR = 2;
export const NUD_PERMANENT = 0x80;

export interface Neighbour {
  index: number;
  ip: string;
  mac?: string;
  /** NUD_* state bits. */
  state: number;
}

export function encodeNeighbour(n: Neighbour): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt8(familyCode(n.ip.includes(':') ? 6 : 4), 0);
  head.writeInt32LE(n.index, 4);
  head.writeUInt16LE(n.state, 8);
  const attrs: Attr[] = [{ type: NDA_DST, value: ipToBytes(n.ip) }];
  if (n.mac !== undefined) attrs.push({ type: NDA_LLADDR, value: macToBytes(n.mac) });
  return Buffer.concat([head, encodeAttrs(attrs)]);
}

export function encodeNeighbourFilter(family: 0 | 4 | 6): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt8(family === 0 ? 0 : familyCode(family), 0);
  return head;
}

export function decodeNeighbour(payload: Buffer): Neighbour {
  return decoding('ndmsg', payload, 12, () => decodeNeighbourBody(payload));
}

function decodeNeighbourBody(payload: Buffer): Neighbour {
  const n: Neighbour = { index: payload.readInt32LE(4), ip: '', state: payload.readUInt16LE(8) };
  for (const x of decodeAttrs(payload.subarray(12))) {
    if (x.type === NDA_DST) n.ip = bytesToIp(x.value);
    else if (x.type === NDA_LLADDR && x.value.length === 6) n.mac = bytesToMac(x.value);
  }
  return n;
}
