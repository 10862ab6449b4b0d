// The kernel's netfilter conntrack table, read over NETLINK_NETFILTER (ctnetlink dump) with the project's
// netlink socket. Only the tuples are decoded: what conntrack GC needs.
import {
  AF_INET,
  AF_INET6,
  NetlinkSocket,
  bytesToIp,
  decodeAttrs,
  type Attr,
  type NetnsRef,
} from '@vpc-cni/shared/netlink';
import type { Family } from './contract.js';
import { DatapathError } from './errors.js';

const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_NEW = 0;
const IPCTNL_MSG_CT_GET = 1;
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;
const CTA_IP_V6_SRC = 3;
const CTA_IP_V6_DST = 4;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_SRC_PORT = 2;
const CTA_PROTO_DST_PORT = 3;

export interface Tuple {
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
}

export interface KernelFlow {
  orig: Tuple;
  reply: Tuple;
}

const find = (attrs: Attr[], type: number): Buffer | undefined => attrs.find((a) => a.type === type)?.value;

function decodeTuple(b: Buffer): Tuple | undefined {
  const attrs = decodeAttrs(b);
  const ip = find(attrs, CTA_TUPLE_IP);
  const proto = find(attrs, CTA_TUPLE_PROTO);
  if (!ip || !proto) return undefined;
  const ipa = decodeAttrs(ip);
  const src = find(ipa, CTA_IP_V4_SRC) ?? find(ipa, CTA_IP_V6_SRC);
  const dst = find(ipa, CTA_IP_V4_DST) ?? find(ipa, CTA_IP_V6_DST);
  const pa = decodeAttrs(proto);
  const num = find(pa, CTA_PROTO_NUM);
  if (!src || !dst || !num) return undefined;
  const port = (t: number) => find(pa, t)?.readUInt16BE(0) ?? 0;
  return {
    src: bytesToIp(Buffer.from(src)),
    dst: bytesToIp(Buffer.from(dst)),
    proto: num.readUInt8(0),
    sport: port(CTA_PROTO_SRC_PORT),
    dport: port(CTA_PROTO_DST_PORT),
  };
}

/** Decodes one ctnetlink reply payload (nfgenmsg + attributes). Pure. */
export function decodeFlow(payload: Buffer): KernelFlow | undefined {
  const attrs = decodeAttrs(payload.subarray(4));
  const o = find(attrs, CTA_TUPLE_ORIG);
  const r = find(attrs, CTA_TUPLE_REPLY);
  const orig = o && decodeTuple(o);
  const reply = r && decodeTuple(r);
  return orig && reply ? { orig, reply } : undefined;
}

/** Dumps the conntrack table of `family` in `netns` (current namespace when absent). */
export function listKernelFlows(family: Family, netns?: NetnsRef): KernelFlow[] {
  let sock: NetlinkSocket;
  try {
    sock = NetlinkSocket.open(netns, NETLINK_NETFILTER);
  } catch (e) {
    throw new DatapathError('CONNTRACK_FAILED', `open NETLINK_NETFILTER socket: ${(e as Error).message}`);
  }
  try {
    const nfgen = Buffer.alloc(4);
    nfgen.writeUInt8(family === 'ipv4' ? AF_INET : AF_INET6, 0);
    const type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
    const replies = sock.dump(type, nfgen, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW, {
      op: 'conntrack dump',
      args: { family },
    });
    return replies.map(decodeFlow).filter((f): f is KernelFlow => f !== undefined);
  } catch (e) {
    if (e instanceof DatapathError) throw e;
    throw new DatapathError('CONNTRACK_FAILED', `read the kernel conntrack table: ${(e as Error).message}`);
  } finally {
    sock.close();
  }
}
