// The netlink/sysctl operations a pod wiring plan consists of. Plans are pure data: computed from the ipamd
// reply and config, executed by the driver, and inverted for rollback.
export type Ns = 'host' | 'pod';
export type Family = 4 | 6;
export const MAIN_TABLE = 254;

export type Op =
  /** Delete a link if it exists (stale veth / VLAN). */
  | { readonly op: 'linkDel'; readonly ns: Ns; readonly name: string }
  /** Veth created inside the pod netns with its peer placed directly in the host netns. */
  | {
      readonly op: 'vethAdd';
      readonly contIf: string;
      readonly hostIf: string;
      readonly hostMac: string;
      readonly mtu: number;
      /** Pod-side MAC (egress-cni picks it so its result is known before the kernel runs); kernel's if unset. */
      readonly contMac?: string;
    }
  | {
      readonly op: 'vlanAdd';
      readonly name: string;
      readonly vlanId: number;
      readonly parentIndex: number;
      readonly mac: string;
    }
  /** Write /proc/sys/<key>; `optional` = a missing file (no IPv6) is ignored. */
  | {
      readonly op: 'sysctl';
      readonly ns: Ns;
      readonly key: string;
      readonly value: string;
      readonly optional: boolean;
    }
  | { readonly op: 'linkUp'; readonly ns: Ns; readonly name: string }
  /** `ip route replace|add <dst> [via gw] dev <dev> [scope link] table <table>`. */
  | {
      readonly op: 'routeReplace' | 'routeAdd';
      readonly ns: Ns;
      readonly dst: string;
      readonly gw?: string;
      readonly dev: string;
      readonly scopeLink: boolean;
      readonly table: number;
      /** Preferred source address (`src`), used by egress-cni's pod routes. */
      readonly src?: string;
    }
  /** `ip rule add` ignoring EEXIST. */
  | {
      readonly op: 'ruleAdd';
      readonly ns: Ns;
      readonly family: Family;
      readonly priority: number;
      readonly table: number;
      readonly from?: string;
      readonly to?: string;
      readonly iif?: string;
    }
  | {
      readonly op: 'addrAdd';
      readonly ns: Ns;
      readonly dev: string;
      readonly cidr: string;
      /** `scope link` (egress-cni's gateway address on its host veth); universe if unset. */
      readonly scopeLink?: boolean;
    }
  | {
      readonly op: 'neighAdd';
      readonly ns: Ns;
      readonly dev: string;
      readonly ip: string;
      readonly lladdr: string;
    }
  /** Wait until no IPv6 address on dev is tentative (DAD done). */
  | { readonly op: 'waitDad'; readonly ns: Ns; readonly dev: string; readonly timeoutMs: number }
  /** Delete every matching rule (selector fields that are set must match); none found is fine. */
  | {
      readonly op: 'ruleDelAll';
      readonly ns: Ns;
      readonly family: Family;
      readonly priority: number;
      readonly table?: number;
      readonly from?: string;
      readonly to?: string;
      readonly iif?: string;
    }
  /** Delete a route if present. */
  | {
      readonly op: 'routeDel';
      readonly ns: Ns;
      readonly dst: string;
      readonly table: number;
      readonly dev?: string;
    };

export function familyOf(ip: string): Family {
  return ip.includes(':') ? 6 : 4;
}

/** `ip/32` or `ip/128`. */
export function hostCidr(ip: string): string {
  return familyOf(ip) === 6 ? `${ip}/128` : `${ip}/32`;
}

/** Upstream: a table id of 0 or 1 means main (pre-v1.20 ipamd reported 1 for the primary ENI). */
export function normaliseTable(t: number): number {
  return t > 1 ? t : MAIN_TABLE;
}
