// Address and neighbour operations.
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from './codec.js';
import {
  type Address,
  IFA_F_NODAD,
  NUD_PERMANENT,
  type Neighbour,
  RTM_DELADDR,
  RTM_DELNEIGH,
  RTM_GETADDR,
  RTM_GETNEIGH,
  RTM_NEWADDR,
  RTM_NEWNEIGH,
  decodeAddress,
  decodeNeighbour,
  encodeAddress,
  encodeAddressFilter,
  encodeNeighbour,
  encodeNeighbourFilter,
} from './addr-neigh-codec.js';
import { isNetlinkError } from './errors.js';
import type { LinkRef, Links } from './links.js';
import type { NetlinkSocket } from './socket.js';

export class Addresses {
  constructor(
    private readonly sock: NetlinkSocket,
    private readonly links: Links,
  ) {}

  add(link: LinkRef, cidr: string, o: { nodad?: boolean; scope?: number } = {}): void {
    const index = this.links.index(link);
    this.sock.request(
      RTM_NEWADDR,
      NLM_F_CREATE | NLM_F_EXCL,
      encodeAddress({ index, cidr, scope: o.scope, flags: o.nodad ? IFA_F_NODAD : 0 }),
      { op: 'addr add', args: { link, cidr } },
    );
  }

  del(link: LinkRef, cidr: string): void {
    const index = this.links.index(link);
    this.sock.request(RTM_DELADDR, 0, encodeAddress({ index, cidr }), {
      op: 'addr del',
      args: { link, cidr },
    });
  }

  delIfExists(link: LinkRef, cidr: string): boolean {
    try {
      this.del(link, cidr);
      return true;
    } catch (e) {
      if (isNetlinkError(e, 'EADDRNOTAVAIL') || isNetlinkError(e, 'ENODEV')) return false;
      throw e;
    }
  }

  list(o: { family?: 4 | 6; link?: LinkRef } = {}): Address[] {
    const index = o.link === undefined ? 0 : this.links.index(o.link);
    const all = this.sock
      .dump(RTM_GETADDR, encodeAddressFilter(o.family ?? 0, index), RTM_NEWADDR, {
        op: 'addr list',
        args: o,
      })
      .map(decodeAddress);
    // Strict checking filters by index on new kernels; filter again for older ones.
    return index === 0 ? all : all.filter((a) => a.index === index);
  }
}

export class Neighbours {
  constructor(
    private readonly sock: NetlinkSocket,
    private readonly links: Links,
  ) {}

  private write(op: string, flags: number, link: LinkRef, ip: string, mac: string): void {
    const index = this.links.index(link);
    this.sock.request(RTM_NEWNEIGH, flags, encodeNeighbour({ index, ip, mac, state: NUD_PERMANENT }), {
      op,
      args: { link, ip, mac },
    });
  }

  /** A permanent static entry; EEXIST when one exists. */
  add(link: LinkRef, ip: string, mac: string): void {
    this.write('neigh add', NLM_F_CREATE | NLM_F_EXCL, link, ip, mac);
  }

  replace(link: LinkRef, ip: string, mac: string): void {
    this.write('neigh replace', NLM_F_CREATE | NLM_F_REPLACE, link, ip, mac);
  }

  del(link: LinkRef, ip: string): void {
    const index = this.links.index(link);
    this.sock.request(RTM_DELNEIGH, 0, encodeNeighbour({ index, ip, state: 0 }), {
      op: 'neigh del',
      args: { link, ip },
    });
  }

  list(family: 0 | 4 | 6 = 0): Neighbour[] {
    return this.sock
      .dump(RTM_GETNEIGH, encodeNeighbourFilter(family), RTM_NEWNEIGH, { op: 'neigh list', args: { family } })
      .map(decodeNeighbour);
  }
}
