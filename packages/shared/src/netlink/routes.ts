// Route and policy-rule operations, in any table.
import {
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELROUTE,
  RTM_DELRULE,
  RTM_GETROUTE,
  RTM_GETRULE,
  RTM_NEWROUTE,
  RTM_NEWRULE,
} from './codec.js';
import { parsePrefix } from './addr-bytes.js';
import {
  RTM_F_CLONED,
  RTN_UNICAST,
  RTPROT_BOOT,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  type Route,
  type Rule,
  decodeRoute,
  decodeRule,
  encodeRoute,
  encodeRouteFilter,
  encodeRule,
  encodeRuleFilter,
  routeFlags,
} from './route-rule-codec.js';
import { isNetlinkError } from './errors.js';
import type { LinkRef, Links } from './links.js';
import type { NetlinkSocket } from './socket.js';

/** A route as callers write it: the device by name or index, the table defaulting to main. */
export interface RouteSpec {
  dst: string;
  gateway?: string;
  dev?: LinkRef;
  table?: number;
  /** Default as iproute2: link scope without a gateway, universe with one. */
  scope?: number;
  protocol?: number;
  type?: number;
  onlink?: boolean;
  src?: string;
  metric?: number;
  mtu?: number;
}

/** A missing route is ESRCH for IPv4 and ENOENT for IPv6: both mean "not there". */
const isMissingRoute = (e: unknown): boolean => isNetlinkError(e, 'ESRCH') || isNetlinkError(e, 'ENOENT');

export class Routes {
  constructor(
    private readonly sock: NetlinkSocket,
    private readonly links: Links,
  ) {}

  private toRoute(r: RouteSpec, forDelete: boolean): Route {
    const dst = parsePrefix(r.dst);
    const defaultScope = r.gateway !== undefined || dst.family === 6 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    return {
      dst: `${dst.ip}/${dst.bits}`,
      gateway: r.gateway,
      oif: r.dev === undefined ? undefined : this.links.index(r.dev),
      table: r.table ?? RT_TABLE_MAIN,
      // A delete matches any scope/protocol/type unless the caller names one (as iproute2 does).
      scope: r.scope ?? (forDelete ? RT_SCOPE_NOWHERE : defaultScope),
      protocol: r.protocol ?? (forDelete ? 0 : RTPROT_BOOT),
      type: r.type ?? (forDelete ? 0 : RTN_UNICAST),
      onlink: r.onlink,
      src: r.src,
      metric: r.metric,
      mtu: r.mtu,
    };
  }

  private write(op: string, type: number, flags: number, r: RouteSpec): void {
    const route = this.toRoute(r, type === RTM_DELROUTE);
    this.sock.request(type, flags, encodeRoute(route), { op, args: { ...r } });
  }

  add(r: RouteSpec): void {
    this.write('route add', RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r);
  }
  replace(r: RouteSpec): void {
    this.write('route replace', RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r);
  }
  del(r: RouteSpec): void {
    this.write('route del', RTM_DELROUTE, 0, r);
  }
  delIfExists(r: RouteSpec): boolean {
    try {
      this.del(r);
      return true;
    } catch (e) {
      if (isMissingRoute(e)) return false;
      throw e;
    }
  }

  /** Routes of a family in one table (default main) or, with `table: 'all'`, every table. */
  list(family: 4 | 6, table: number | 'all' = RT_TABLE_MAIN): Route[] {
    const out: Route[] = [];
    for (const p of this.sock.dump(RTM_GETROUTE, encodeRouteFilter(family), RTM_NEWROUTE, {
      op: 'route list',
      args: { family, table },
    })) {
      if (routeFlags(p) & RTM_F_CLONED) continue;
      const r = decodeRoute(p);
      if (table === 'all' || r.table === table) out.push(r);
    }
    return out;
  }
}

export class Rules {
  constructor(private readonly sock: NetlinkSocket) {}

  add(r: Rule): void {
    this.sock.request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, encodeRule(r), {
      op: 'rule add',
      args: { ...r },
    });
  }

  /** Adds the rule unless an identical one exists; true when added. */
  ensure(r: Rule): boolean {
    try {
      this.add(r);
      return true;
    } catch (e) {
      if (isNetlinkError(e, 'EEXIST')) return false;
      throw e;
    }
  }

  /** Deletes one matching rule (unset selectors and table 0 match anything). */
  del(r: Rule): void {
    this.sock.request(RTM_DELRULE, 0, encodeRule(r), { op: 'rule del', args: { ...r } });
  }

  delIfExists(r: Rule): boolean {
    try {
      this.del(r);
      return true;
    } catch (e) {
      if (isNetlinkError(e, 'ENOENT')) return false;
      throw e;
    }
  }

  /** Deletes every matching rule; returns how many. */
  delAll(r: Rule): number {
    let n = 0;
    while (this.delIfExists(r)) n++;
    return n;
  }

  list(family: 4 | 6): Rule[] {
    return this.sock
      .dump(RTM_GETRULE, encodeRuleFilter(family), RTM_NEWRULE, { op: 'rule list', args: { family } })
      .map(decodeRule);
  }
}
