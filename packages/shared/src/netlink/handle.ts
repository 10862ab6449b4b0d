// A netlink handle: one socket bound in one namespace, with the operations grouped by object kind.
// Open one per namespace you work in (pod side and host side), close it when done.
import { Addresses, Neighbours } from './addresses.js';
import { Links } from './links.js';
import type { NetnsRef } from './netns.js';
import { Routes, Rules } from './routes.js';
import { NetlinkSocket } from './socket.js';

export class Netlink {
  readonly link: Links;
  readonly addr: Addresses;
  readonly route: Routes;
  readonly rule: Rules;
  readonly neigh: Neighbours;

  /** A handle for the current namespace, or for `netns` (a path or an open fd). */
  static open(netns?: NetnsRef): Netlink {
    return new Netlink(NetlinkSocket.open(netns));
  }

  private constructor(private readonly sock: NetlinkSocket) {
    this.link = new Links(sock);
    this.addr = new Addresses(sock, this.link);
    this.route = new Routes(sock, this.link);
    this.rule = new Rules(sock);
    this.neigh = new Neighbours(sock, this.link);
  }

  close(): void {
    this.sock.close();
  }
}
