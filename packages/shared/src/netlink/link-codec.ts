// ifinfomsg (links) with the attributes the CNI uses: name, MTU, MAC, parent, master, namespace, and link info
// for veth (peer), vlan (id, protocol) and dummy.
import { type Attr, cstring, decodeAttrs, decoding, encodeAttrs, u32 } from './codec.js';

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const IFF_UP = 0x1;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_MASTER = 10;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_EXT_MASK = 29;
const IFLA_LINK_NETNSID = 37;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFLA_VLAN_ID = 1;
const IFLA_VLAN_PROTOCOL = 5;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

export interface Link {
  index: number;
  name: string;
  mtu: number;
  /** Lower-case colon-separated MAC; absent for links without one (e.g. some tunnels). */
  mac?: string;
  flags: number;
  up: boolean;
  /** 'veth', 'vlan', 'dummy', ... when the link reports a kind. */
  kind?: string;
  /** IFLA_LINK: the parent (vlan) or the peer's index (veth, possibly in another namespace). */
  parentIndex?: number;
  masterIndex?: number;
  vlanId?: number;
  /** Set when the peer/parent lives in another namespace (its id as seen from this one). */
  linkNetnsId?: number;
  operState?: number;
}

/** What to set on a link; used by add (with a kind) and set. */
export interface LinkAttrs {
  name?: string;
  mtu?: number;
  mac?: string;
  parentIndex?: number;
  masterIndex?: number;
  /** Open fd of the namespace to create the link in / move it to. */
  netnsFd?: number;
}

export type LinkKind =
  | { kind: 'dummy' }
  | { kind: 'veth'; peer: LinkAttrs }
  | { kind: 'vlan'; vlanId: number; protocol?: '802.1Q' | '802.1ad' };

export function macToBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new Error(`not a MAC address: "${mac}"`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export const bytesToMac = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

export function ifinfomsg(index = 0, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(0, 0); // AF_UNSPEC
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags >>> 0, 8);
  b.writeUInt32LE(change >>> 0, 12);
  return b;
}

function attrsOf(a: LinkAttrs): Attr[] {
  const out: Attr[] = [];
  if (a.name !== undefined) out.push({ type: IFLA_IFNAME, value: cstring(a.name) });
  if (a.mtu !== undefined) out.push({ type: IFLA_MTU, value: u32(a.mtu) });
  if (a.mac !== undefined) out.push({ type: IFLA_ADDRESS, value: macToBytes(a.mac) });
  if (a.parentIndex !== undefined) out.push({ type: IFLA_LINK, value: u32(a.parentIndex) });
  if (a.masterIndex !== undefined) out.push({ type: IFLA_MASTER, value: u32(a.masterIndex) });
  if (a.netnsFd !== undefined) out.push({ type: IFLA_NET_NS_FD, value: u32(a.netnsFd) });
  return out;
}

function linkInfo(k: LinkKind): Attr {
  const info: Attr[] = [{ type: IFLA_INFO_KIND, value: cstring(k.kind) }];
  if (k.kind === 'veth') {
    const peer = Buffer.concat([ifinfomsg(), encodeAttrs(attrsOf(k.peer))]);
    info.push({ type: IFLA_INFO_DATA, value: encodeAttrs([{ type: VETH_INFO_PEER, value: peer }]) });
  } else if (k.kind === 'vlan') {
    const id = Buffer.alloc(2);
    id.writeUInt16LE(k.vlanId, 0);
    const proto = Buffer.alloc(2);
    proto.writeUInt16BE(k.protocol === '802.1ad' ? ETH_P_8021AD : ETH_P_8021Q, 0);
    info.push({
      type: IFLA_INFO_DATA,
      value: encodeAttrs([
        { type: IFLA_VLAN_ID, value: id },
        { type: IFLA_VLAN_PROTOCOL, value: proto },
      ]),
    });
  }
  return { type: IFLA_LINKINFO, value: encodeAttrs(info) };
}

/** RTM_NEWLINK payload creating a link of `kind`. */
export function encodeNewLink(a: LinkAttrs, kind: LinkKind, up = false): Buffer {
  return Buffer.concat([
    ifinfomsg(0, up ? IFF_UP : 0, up ? IFF_UP : 0),
    encodeAttrs([...attrsOf(a), linkInfo(kind)]),
  ]);
}

/** RTM_NEWLINK/SETLINK payload changing an existing link. */
export function encodeSetLink(index: number, a: LinkAttrs, up?: boolean): Buffer {
  const flags = up === true ? IFF_UP : 0;
  const change = up === undefined ? 0 : IFF_UP;
  return Buffer.concat([ifinfomsg(index, flags, change), encodeAttrs(attrsOf(a))]);
}

/** RTM_GETLINK by name (index 0) or by index; stats skipped for a smaller reply. */
export function encodeGetLink(by: { index?: number; name?: string }): Buffer {
  const attrs: Attr[] = [{ type: IFLA_EXT_MASK, value: u32(RTEXT_FILTER_SKIP_STATS) }];
  if (by.name !== undefined) attrs.push({ type: IFLA_IFNAME, value: cstring(by.name) });
  return Buffer.concat([ifinfomsg(by.index ?? 0), encodeAttrs(attrs)]);
}

const text = (b: Buffer): string => b.toString('utf8').replace(/\0+$/, '');

export function decodeLink(payload: Buffer): Link {
  return decoding('ifinfomsg', payload, 16, () => decodeLinkBody(payload));
}

function decodeLinkBody(payload: Buffer): Link {
  const flags = payload.readUInt32LE(8);
  const l: Link = { index: payload.readInt32LE(4), name: '', mtu: 0, flags, up: (flags & IFF_UP) !== 0 };
  for (const a of decodeAttrs(payload.subarray(16))) {
    if (a.type === IFLA_IFNAME) l.name = text(a.value);
    else if (a.type === IFLA_MTU) l.mtu = a.value.readUInt32LE(0);
    else if (a.type === IFLA_ADDRESS && a.value.length === 6) l.mac = bytesToMac(a.value);
    else if (a.type === IFLA_LINK) l.parentIndex = a.value.readUInt32LE(0);
    else if (a.type === IFLA_MASTER) l.masterIndex = a.value.readUInt32LE(0);
    else if (a.type === IFLA_LINK_NETNSID) l.linkNetnsId = a.value.readInt32LE(0);
    else if (a.type === IFLA_OPERSTATE) l.operState = a.value.readUInt8(0);
    else if (a.type === IFLA_LINKINFO) {
      for (const i of decodeAttrs(a.value)) {
        if (i.type === IFLA_INFO_KIND) l.kind = text(i.value);
        else if (i.type === IFLA_INFO_DATA && l.kind === 'vlan') {
          const id = decodeAttrs(i.value).find((d) => d.type === IFLA_VLAN_ID);
          if (id) l.vlanId = id.value.readUInt16LE(0);
        }
      }
    }
  }
  return l;
}

/** Decodes the creation request (used by round-trip tests and to describe a request in errors). */
export function decodeNewLink(payload: Buffer): { attrs: LinkAttrs; kind?: LinkKind; up: boolean } {
  return decoding('ifinfomsg', payload, 16, () => decodeNewLinkBody(payload));
}

function decodeNewLinkBody(payload: Buffer): { attrs: LinkAttrs; kind?: LinkKind; up: boolean } {
  const attrs = decodeLinkAttrs(payload.subarray(16));
  const up = (payload.readUInt32LE(8) & IFF_UP) !== 0;
  const info = decodeAttrs(payload.subarray(16)).find((a) => a.type === IFLA_LINKINFO);
  if (!info) return { attrs, up };
  const parts = decodeAttrs(info.value);
  const kindName = text(parts.find((p) => p.type === IFLA_INFO_KIND)?.value ?? Buffer.alloc(0));
  const data = decodeAttrs(parts.find((p) => p.type === IFLA_INFO_DATA)?.value ?? Buffer.alloc(0));
  if (kindName === 'veth') {
    const peer = data.find((d) => d.type === VETH_INFO_PEER)?.value ?? ifinfomsg();
    return { attrs, up, kind: { kind: 'veth', peer: decodeLinkAttrs(peer.subarray(16)) } };
  }
  if (kindName === 'vlan') {
    const id = data.find((d) => d.type === IFLA_VLAN_ID)?.value.readUInt16LE(0) ?? 0;
    const proto = data.find((d) => d.type === IFLA_VLAN_PROTOCOL)?.value.readUInt16BE(0);
    return {
      attrs,
      up,
      kind: { kind: 'vlan', vlanId: id, protocol: proto === ETH_P_8021AD ? '802.1ad' : '802.1Q' },
    };
  }
  return { attrs, up, kind: { kind: 'dummy' } };
}

function decodeLinkAttrs(buf: Buffer): LinkAttrs {
  const a: LinkAttrs = {};
  for (const x of decodeAttrs(buf)) {
    if (x.type === IFLA_IFNAME) a.name = text(x.value);
    else if (x.type === IFLA_MTU) a.mtu = x.value.readUInt32LE(0);
    else if (x.type === IFLA_ADDRESS) a.mac = bytesToMac(x.value);
    else if (x.type === IFLA_LINK) a.parentIndex = x.value.readUInt32LE(0);
    else if (x.type === IFLA_MASTER) a.masterIndex = x.value.readUInt32LE(0);
    else if (x.type === IFLA_NET_NS_FD) a.netnsFd = x.value.readUInt32LE(0);
  }
  return a;
}
