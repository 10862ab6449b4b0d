// Host side of an ENI's life: bring its link up with its own route table when it joins the pool, take the table
// and rule away when it leaves. The agent passes the netlink-backed one; in-process tests without a node netns
// pass `noPlumbing`.
export interface EniHostInfo {
  id: string;
  mac: string;
  primaryIp: string;
  subnetCidr: string;
  deviceNumber: number;
  table: number;
  /**
   * Trunk ENI: set up like the others, but no `from <ENI IP>` rule
   * (docs/architecture.md#per-eni-host-networking).
   */
  isTrunk?: boolean;
  /** Network card (default 0): on a card > 0 an existing rule for the ENI's address keeps its table. */
  card?: number;
  /** The card's ENI limit, for the legacy table number of older releases (cards > 0). */
  maxEni?: number;
}

export interface EniPlumbing {
  /** Brings the ENI up; answers the table its routes went into when it is not `eni.table` (a reused one). */
  up(eni: EniHostInfo): Promise<number | void>;
  down(eni: EniHostInfo): Promise<void>;
}

export const noPlumbing: EniPlumbing = { up: async () => undefined, down: async () => undefined };
