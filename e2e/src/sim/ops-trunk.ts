// Trunk/branch associations (security groups for pods): a branch ENI (InterfaceType branch, not attached) is
// associated with an attached trunk ENI under a VLAN id unique on that trunk, up to the instance type's branch
// limit. Kept beside the world (keyed by it) rather than in the ENI records; deleting an ENI drops its associations.
import * as err from './errors.js';
import type { World } from './world.js';

export interface TrunkAssociation {
  id: string;
  branchId: string;
  trunkId: string;
  vlanId: number;
}

const stores = new WeakMap<World, Map<string, TrunkAssociation>>();

export function trunkAssociations(w: World): Map<string, TrunkAssociation> {
  let s = stores.get(w);
  if (!s) stores.set(w, (s = new Map()));
  return s;
}

export function associateTrunk(
  w: World,
  r: { branchId: string; trunkId: string; vlanId: number | undefined },
): TrunkAssociation {
  const trunk = w.eni(r.trunkId);
  const branch = w.eni(r.branchId);
  if (trunk.interfaceType !== 'trunk')
    throw err.invalidParam(`Network interface '${trunk.id}' is not a trunk network interface.`);
  if (branch.interfaceType !== 'branch')
    throw err.invalidParam(`Network interface '${branch.id}' is not a branch network interface.`);
  if (trunk.attachment?.status !== 'attached' || !trunk.attachment.instanceId)
    throw err.invalidParam(`Trunk network interface '${trunk.id}' is not attached to an instance.`);
  if (branch.attachment) throw err.invalidParam(`Network interface '${branch.id}' is currently in use.`);
  if (r.vlanId === undefined || !Number.isInteger(r.vlanId) || r.vlanId < 1 || r.vlanId > 4094)
    throw err.invalidParam(`Value (${String(r.vlanId)}) for parameter vlanId is invalid. Expecting 1-4094.`);
  const all = trunkAssociations(w);
  const onTrunk = [...all.values()].filter((a) => a.trunkId === trunk.id);
  if ([...all.values()].some((a) => a.branchId === branch.id))
    throw err.invalidParam(`Network interface '${branch.id}' is already associated with a trunk.`);
  if (onTrunk.some((a) => a.vlanId === r.vlanId))
    throw err.invalidParam(`VLAN ${r.vlanId} is already in use on trunk '${trunk.id}'.`);
  const type = w.instance(trunk.attachment.instanceId).type;
  const limit = w.limits(type).branchEnis;
  if (onTrunk.length >= limit)
    throw err.invalidParam(
      `Trunk '${trunk.id}' has reached the branch interface limit (${limit}) for ${type}.`,
    );
  const a: TrunkAssociation = {
    id: w.newId('trunk-assoc'),
    branchId: branch.id,
    trunkId: trunk.id,
    vlanId: r.vlanId,
  };
  all.set(a.id, a);
  w.changed();
  return a;
}

export function disassociateTrunk(w: World, associationId: string): void {
  if (!trunkAssociations(w).delete(associationId))
    throw new err.Ec2Error(
      'InvalidAssociationID.NotFound',
      `The association ID '${associationId}' does not exist`,
    );
  w.changed();
}

/** An ENI was deleted: its associations go with it. */
export function dropAssociationsOf(w: World, eniId: string): void {
  const all = trunkAssociations(w);
  for (const [id, a] of all) if (a.branchId === eniId || a.trunkId === eniId) all.delete(id);
}
