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
}

export interface EniPlumbing {
  up(eni: EniHostInfo): Promise<void>;
  down(eni: EniHostInfo): Promise<void>;
}

export const noPlumbing: EniPlumbing = { up: async () => undefined, down: async () => undefined };
