// Link operations: list/get, create veth/vlan/dummy, set up/down/MTU/name/MAC/namespace, delete.
import { isNetlinkError } from './errors.js';
import { NLM_F_CREATE, NLM_F_EXCL } from './codec.js';
import {
  type Link,
  type LinkAttrs,
  type LinkKind,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  decodeLink,
  encodeGetLink,
  encodeNewLink,
  encodeSetLink,
  ifinfomsg,
} from './link-codec.js';
import { type NetnsRef, closeFd, openNetns } from './netns.js';
import type { NetlinkSocket } from './socket.js';

/** A link by name or by index. */
export type LinkRef = string | number;

export interface NewLinkOptions {
  mtu?: number;
  mac?: string;
  up?: boolean;
}

/** Runs `fn` with an fd for `ns` (opened and closed here when given as a path). */
function withNsFd<T>(ns: NetnsRef, fn: (fd: number) => T): T {
  if (typeof ns === 'number') return fn(ns);
  const fd = openNetns(ns);
  try {
    return fn(fd);
  } finally {
    closeFd(fd);
  }
}

export class Links {
  constructor(private readonly sock: NetlinkSocket) {}

  list(): Link[] {
    return this.sock
      .dump(RTM_GETLINK, ifinfomsg(), RTM_NEWLINK, { op: 'link list', args: {} })
      .map(decodeLink);
  }

  /** The link, or undefined when there is none (ENODEV). */
  find(ref: LinkRef): Link | undefined {
    try {
      return this.get(ref);
    } catch (e) {
      if (isNetlinkError(e, 'ENODEV')) return undefined;
      throw e;
    }
  }

  get(ref: LinkRef): Link {
    const by = typeof ref === 'number' ? { index: ref } : { name: ref };
    return decodeLink(
      this.sock.get(RTM_GETLINK, encodeGetLink(by), RTM_NEWLINK, { op: 'link get', args: by }),
    );
  }

  index(ref: LinkRef): number {
    return typeof ref === 'number' ? ref : this.get(ref).index;
  }

  add(attrs: LinkAttrs & { name: string }, kind: LinkKind, up = false): void {
    this.sock.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, encodeNewLink(attrs, kind, up), {
      op: `link add ${kind.kind}`,
      args: { ...attrs, ...kind },
    });
  }

  addDummy(name: string, o: NewLinkOptions = {}): void {
    this.add({ name, mtu: o.mtu, mac: o.mac }, { kind: 'dummy' }, o.up);
  }

  /** A veth pair; the peer is created directly in `peer.netns` (when given) with its final name. */
  addVeth(
    name: string,
    peer: NewLinkOptions & { name: string; netns?: NetnsRef },
    o: NewLinkOptions = {},
  ): void {
    const create = (netnsFd?: number): void =>
      this.add(
        { name, mtu: o.mtu, mac: o.mac },
        { kind: 'veth', peer: { name: peer.name, mtu: peer.mtu, mac: peer.mac, netnsFd } },
        o.up,
      );
    if (peer.netns === undefined) create();
    else withNsFd(peer.netns, create);
  }

  addVlan(name: string, parent: LinkRef, vlanId: number, o: NewLinkOptions = {}): void {
    this.add(
      { name, mtu: o.mtu, mac: o.mac, parentIndex: this.index(parent) },
      { kind: 'vlan', vlanId },
      o.up,
    );
  }

  private set(ref: LinkRef, attrs: LinkAttrs, up: boolean | undefined, op: string): void {
    const index = this.index(ref);
    this.sock.request(RTM_NEWLINK, 0, encodeSetLink(index, attrs, up), { op, args: { link: ref, ...attrs } });
  }

  setUp(ref: LinkRef): void {
    this.set(ref, {}, true, 'link set up');
  }
  setDown(ref: LinkRef): void {
    this.set(ref, {}, false, 'link set down');
  }
  setMtu(ref: LinkRef, mtu: number): void {
    this.set(ref, { mtu }, undefined, 'link set mtu');
  }
  rename(ref: LinkRef, name: string): void {
    this.set(ref, { name }, undefined, 'link rename');
  }
  setMac(ref: LinkRef, mac: string): void {
    this.set(ref, { mac }, undefined, 'link set address');
  }
  setMaster(ref: LinkRef, master: LinkRef): void {
    this.set(ref, { masterIndex: this.index(master) }, undefined, 'link set master');
  }
  /** Moves the link into another namespace (it disappears from this one). */
  moveToNetns(ref: LinkRef, ns: NetnsRef): void {
    withNsFd(ns, (netnsFd) => this.set(ref, { netnsFd }, undefined, 'link set netns'));
  }

  del(ref: LinkRef): void {
    const index = this.index(ref);
    this.sock.request(RTM_DELLINK, 0, ifinfomsg(index), { op: 'link del', args: { link: ref } });
  }

  /** Deletes the link when it exists; true when something was deleted. */
  delIfExists(ref: LinkRef): boolean {
    try {
      this.del(ref);
      return true;
    } catch (e) {
      if (isNetlinkError(e, 'ENODEV')) return false;
      throw e;
    }
  }
}
