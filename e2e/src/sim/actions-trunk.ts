// EC2 Query actions for trunk/branch ENIs: AssociateTrunkInterface, DisassociateTrunkInterface,
// DescribeTrunkInterfaceAssociations (filters trunk-interface-association.{branch,trunk}-interface-id, paging 5–255).
import type { Ctx } from './actions.js';
import { Ec2Error } from './errors.js';
import { type TrunkAssociation, associateTrunk, disassociateTrunk, trunkAssociations } from './ops-trunk.js';
import { matches, paginate } from './query.js';
import type { XmlObject } from './xml.js';

const assocXml = (a: TrunkAssociation): XmlObject => ({
  associationId: a.id,
  branchInterfaceId: a.branchId,
  trunkInterfaceId: a.trunkId,
  interfaceProtocol: 'VLAN',
  vlanId: a.vlanId,
  tagSet: [],
});

export const trunkActions = {
  AssociateTrunkInterface: ({ w, p }: Ctx): XmlObject => {
    const a = associateTrunk(w, {
      branchId: p.required('BranchInterfaceId'),
      trunkId: p.required('TrunkInterfaceId'),
      vlanId: p.int('VlanId'),
    });
    return { interfaceAssociation: assocXml(a), clientToken: p.get('ClientToken') };
  },
  DisassociateTrunkInterface: ({ w, p }: Ctx): XmlObject => {
    disassociateTrunk(w, p.required('AssociationId'));
    return { return: true, clientToken: p.get('ClientToken') };
  },
  DescribeTrunkInterfaceAssociations: ({ w, p }: Ctx): XmlObject => {
    const all = trunkAssociations(w);
    const ids = p.list('AssociationId');
    const listed = ids.length
      ? ids.map(
          (id) =>
            all.get(id) ??
            (() => {
              throw new Ec2Error(
                'InvalidAssociationID.NotFound',
                `The association ID '${id}' does not exist`,
              );
            })(),
        )
      : [...all.values()];
    const filters = p.filters();
    const hits = listed.filter((a) =>
      matches(filters, new Map(), (name) =>
        name === 'trunk-interface-association.branch-interface-id'
          ? [a.branchId]
          : name === 'trunk-interface-association.trunk-interface-id'
            ? [a.trunkId]
            : undefined,
      ),
    );
    const { page, nextToken } = paginate(hits, p, [5, 255]);
    return { interfaceAssociationSet: page.map(assocXml), nextToken };
  },
};
