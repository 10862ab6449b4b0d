// rtmsg (routes) and fib_rule_hdr (policy rules) with the attributes the CNI uses.
import { AF_INET, AF_INET6, type Attr, decodeAttrs, decoding, encodeAttrs, u32 } from './codec.js';
import { bytesToIp, ipToBytes, parsePrefix } from './addr-bytes.js';

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTAX_MTU = 2;
export const RTNH_F_ONLINK = 4;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;
export const RTN_UNICAST = 1;
export const RT_TABLE_MAIN = 254;

export interface Route {
  /** Destination prefix; "0.0.0.0/0" / "::/0" for a default route. */
  dst: string;
  gateway?: string;
  oif?: number;
  table: number;
  scope: number;
  protocol: number;
  type: number;
  onlink?: boolean;
  src?: string;
  metric?: number;
  mtu?: number;
}

export function encodeRoute(r: Route): Buffer {
  const dst = parsePrefix(r.dst);
  const head = Buffer.alloc(12);
  head.writeUInt8(dst.family === 4 ? AF_INET : AF_INET6, 0);
  head.writeUInt8(dst.bits, 1);
  head.writeUInt8(r.table < 256 ? r.table : 252 /* RT_TABLE_COMPAT */, 4);
  head.writeUInt8(r.protocol, 5);
  head.writeUInt8(r.scope, 6);
  head.writeUInt8(r.type, 7);
  head.writeUInt32LE(r.onlink ? RTNH_F_ONLINK : 0, 8);
  const attrs: Attr[] = [{ type: RTA_TABLE, value: u32(r.table) }];
  if (dst.bits > 0) attrs.push({ type: RTA_DST, value: ipToBytes(dst.ip) });
  if (r.gateway !== undefined) attrs.push({ type: RTA_GATEWAY, value: ipToBytes(r.gateway) });
  if (r.oif !== undefined) attrs.push({ type: RTA_OIF, value: u32(r.oif) });
  if (r.src !== undefined) attrs.push({ type: RTA_PREFSRC, value: ipToBytes(r.src) });
  if (r.metric !== undefined) attrs.push({ type: RTA_PRIORITY, value: u32(r.metric) });
  if (r.mtu !== undefined)
    attrs.push({ type: RTA_METRICS, value: encodeAttrs([{ type: RTAX_MTU, value: u32(r.mtu) }]) });
  return Buffer.concat([head, encodeAttrs(attrs)]);
}

export function decodeRoute(payload: Buffer): Route {
  return decoding('rtmsg', payload, 12, () => decodeRouteBody(payload));
}

function decodeRouteBody(payload: Buffer): Route {
  const family = payload.readUInt8(0);
  const bits = payload.readUInt8(1);
  const r: Route = {
    dst: `${family === AF_INET ? '0.0.0.0' : '::'}/${bits}`,
    table: payload.readUInt8(4),
    protocol: payload.readUInt8(5),
    scope: payload.readUInt8(6),
    type: payload.readUInt8(7),
  };
  if (payload.readUInt32LE(8) & RTNH_F_ONLINK) r.onlink = true;
  for (const a of decodeAttrs(payload.subarray(12))) {
    if (a.type === RTA_DST) r.dst = `${bytesToIp(a.value)}/${bits}`;
    else if (a.type === RTA_GATEWAY) r.gateway = bytesToIp(a.value);
    else if (a.type === RTA_OIF) r.oif = a.value.readUInt32LE(0);
    else if (a.type === RTA_PREFSRC) r.src = bytesToIp(a.value);
    else if (a.type === RTA_PRIORITY) r.metric = a.value.readUInt32LE(0);
    else if (a.type === RTA_TABLE) r.table = a.value.readUInt32LE(0);
    else if (a.type === RTA_METRICS) {
      const mtu = decodeAttrs(a.value).find((m) => m.type === RTAX_MTU);
      if (mtu) r.mtu = mtu.value.readUInt32LE(0);
    }
  }
  return r;
}

const FRA_DST = 1;
const FRA_SRC = 2;
const FRA_IIFNAME = 3;
const FRA_PRIORITY = 6;
const FRA_FWMARK = 10;
const FRA_TABLE = 15;
const FRA_FWMASK = 16;
const FRA_OIFNAME = 17;
export const FR_ACT_TO_TBL = 1;
export const RT_SCOPE_NOWHERE = 255;
export const RTM_F_CLONED = 0x200;

/** rtmsg with only the family set: the header of a route dump request. */
export function encodeRouteFilter(family: 0 | 4 | 6): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt8(family === 0 ? 0 : family === 4 ? AF_INET : AF_INET6, 0);
  return head;
}

/** fib_rule_hdr with only the family set: the header of a rule dump request. */
export function encodeRuleFilter(family: 4 | 6): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
  return head;
}

/** The route's rtm_flags (e.g. RTM_F_CLONED for cache entries). */
export const routeFlags = (payload: Buffer): number =>
  decoding('rtmsg', payload, 12, () => payload.readUInt32LE(8));

export interface Rule {
  family: 4 | 6;
  priority: number;
  /** Table to look up; 0 in a delete request matches any table. */
  table: number;
  src?: string;
  dst?: string;
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
}

export function encodeRule(r: Rule): Buffer {
  const head = Buffer.alloc(12);
  const src = r.src !== undefined ? parsePrefix(r.src) : undefined;
  const dst = r.dst !== undefined ? parsePrefix(r.dst) : undefined;
  head.writeUInt8(r.family === 4 ? AF_INET : AF_INET6, 0);
  head.writeUInt8(dst?.bits ?? 0, 1);
  head.writeUInt8(src?.bits ?? 0, 2);
  head.writeUInt8(r.table < 256 ? r.table : 0, 4);
  head.writeUInt8(FR_ACT_TO_TBL, 7);
  const attrs: Attr[] = [
    { type: FRA_PRIORITY, value: u32(r.priority) },
    { type: FRA_TABLE, value: u32(r.table) },
  ];
  if (src && src.bits > 0) attrs.push({ type: FRA_SRC, value: ipToBytes(src.ip) });
  if (dst && dst.bits > 0) attrs.push({ type: FRA_DST, value: ipToBytes(dst.ip) });
  if (r.fwmark !== undefined) attrs.push({ type: FRA_FWMARK, value: u32(r.fwmark) });
  if (r.fwmask !== undefined) attrs.push({ type: FRA_FWMASK, value: u32(r.fwmask) });
  if (r.iif !== undefined)
    attrs.push({ type: FRA_IIFNAME, value: Buffer.concat([Buffer.from(r.iif), Buffer.alloc(1)]) });
  if (r.oif !== undefined)
    attrs.push({ type: FRA_OIFNAME, value: Buffer.concat([Buffer.from(r.oif), Buffer.alloc(1)]) });
  return Buffer.concat([head, encodeAttrs(attrs)]);
}

export function decodeRule(payload: Buffer): Rule {
  return decoding('fib_rule_hdr', payload, 12, () => decodeRuleBody(payload));
}

function decodeRuleBody(payload: Buffer): Rule {
  const family = payload.readUInt8(0) === AF_INET ? 4 : 6;
  const dstLen = payload.readUInt8(1);
  const srcLen = payload.readUInt8(2);
  const r: Rule = { family, priority: 0, table: payload.readUInt8(4) };
  const name = (b: Buffer) => b.toString('utf8').replace(/\0+$/, '');
  for (const a of decodeAttrs(payload.subarray(12))) {
    if (a.type === FRA_PRIORITY) r.priority = a.value.readUInt32LE(0);
    else if (a.type === FRA_TABLE) r.table = a.value.readUInt32LE(0);
    else if (a.type === FRA_SRC) r.src = `${bytesToIp(a.value)}/${srcLen}`;
    else if (a.type === FRA_DST) r.dst = `${bytesToIp(a.value)}/${dstLen}`;
    else if (a.type === FRA_FWMARK) r.fwmark = a.value.readUInt32LE(0);
    else if (a.type === FRA_FWMASK) r.fwmask = a.value.readUInt32LE(0);
    else if (a.type === FRA_IIFNAME) r.iif = name(a.value);
    else if (a.type === FRA_OIFNAME) r.oif = name(a.value);
  }
  return r;
}
