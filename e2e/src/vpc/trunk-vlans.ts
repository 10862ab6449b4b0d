// Branch ENIs in the VPC fabric (security groups for pods): EC2 delivers a branch ENI's traffic through the trunk
// ENI it is associated with, tagged with the association's VLAN id. For every trunk association (the simulator's,
// ops-trunk.ts) whose trunk is plugged, the router gets a VLAN sub-interface `<trunk link>.<vlan>` that answers
// for the branch subnet's gateway and delivers the branch ENI's address to the branch ENI's MAC; the branch ENI's
// security groups apply on that sub-interface (security-groups.ts, through VpcFabric.sync). A dropped association
// (DisassociateTrunkInterface, or the branch ENI deleted) removes the sub-interface. Needs a kernel with 802.1Q:
// nothing is created until a trunk association exists.
import { execFileSync } from 'node:child_process';
import { trunkAssociations } from '../sim/ops-trunk.js';
import type { World } from '../sim/world.js';

interface BranchLink {
  eniId: string;
  /** Fabric-side sub-interface: `<trunk link>.<vlan>`. */
  link: string;
}

const run = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** The first address of a subnet: the VPC router (as the fabric's gateway for every ENI). */
export function subnetGateway(cidr: string): string {
  const base = cidr.split('/')[0] ?? '';
  return base.replace(/\d+$/, (d) => String(Number(d) + 1));
}

export class TrunkVlans {
  private readonly links = new Map<string, BranchLink>(); // association id → sub-interface

  constructor(private readonly fabricNs: string) {}

  /** The branch ENIs with a sub-interface now (for the security-group renderer). */
  plugged(): BranchLink[] {
    return [...this.links.values()];
  }

  /** Brings the sub-interfaces in line with the associations; `trunkLink` names a plugged trunk's link. */
  sync(w: World, trunkLink: (eniId: string) => string | undefined): void {
    const assocs = trunkAssociations(w);
    for (const [id, l] of this.links)
      if (!assocs.has(id)) {
        this.links.delete(id);
        try {
          run(['-n', this.fabricNs, 'link', 'del', l.link]);
        } catch {
          // gone with its trunk link
        }
      }
    for (const a of assocs.values()) {
      if (this.links.has(a.id)) continue;
      const parent = trunkLink(a.trunkId);
      const branch = w.enis.get(a.branchId);
      if (!parent || !branch) continue;
      const link = `${parent}.${a.vlanId}`;
      const ns = this.fabricNs;
      run(['-n', ns, 'link', 'add', 'link', parent, 'name', link, 'type', 'vlan', 'id', String(a.vlanId)]);
      try {
        run(['-n', ns, 'addr', 'add', `${subnetGateway(w.subnet(branch.subnetId).cidr)}/32`, 'dev', link]);
        run(['-n', ns, 'link', 'set', link, 'up']);
        run([
          '-n',
          ns,
          'neigh',
          'replace',
          branch.primaryIp,
          'lladdr',
          branch.mac,
          'dev',
          link,
          'nud',
          'permanent',
        ]);
        run(['-n', ns, 'route', 'replace', `${branch.primaryIp}/32`, 'dev', link]);
      } catch (e) {
        run(['-n', ns, 'link', 'del', link]); // whole or not at all: the next sync tries again
        throw e;
      }
      this.links.set(a.id, { eniId: branch.id, link });
    }
  }
}
