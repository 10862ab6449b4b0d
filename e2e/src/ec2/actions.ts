// The EC2 actions ipamd uses, over the world model. Each returns the response body (below the requestId).
import { Ec2Error } from './errors.js';
import type { Params } from './query.js';
import { eniXml, instanceTypeXml, instanceXml, subnetXml } from './render.js';
import type { Eni, World } from './world.js';
import type { XmlNode } from './xml.js';

type Handler = (w: World, p: Params) => XmlNode;

function eniMatches(w: World, e: Eni, f: { name: string; values: string[] }): boolean {
  const any = (v: string | undefined) => v !== undefined && f.values.includes(v);
  if (f.name.startsWith('tag:')) return any(e.tags.get(f.name.slice(4)));
  switch (f.name) {
    case 'tag-key':
      return [...e.tags.keys()].some((k) => f.values.includes(k));
    case 'attachment.instance-id':
      return any(e.attachment?.instanceId);
    case 'attachment.attachment-id':
      return any(e.attachment?.id);
    case 'status':
      return any(e.attachment ? 'in-use' : 'available');
    case 'subnet-id':
      return any(e.subnetId);
    case 'vpc-id':
      return any(w.vpcId);
    case 'network-interface-id':
      return any(e.id);
    case 'description':
      return f.values.some((v) =>
        v.endsWith('*') ? e.description.startsWith(v.slice(0, -1)) : e.description === v,
      );
    default:
      throw new Ec2Error('InvalidParameterValue', `The filter '${f.name}' is invalid`);
  }
}

/** NextToken is the start index; MaxResults 5..1000 as EC2 allows. */
function page<T>(items: T[], p: Params): { items: T[]; nextToken?: string } {
  const max = p.int('MaxResults');
  if (max !== undefined && (max < 5 || max > 1000))
    throw new Ec2Error(
      'InvalidParameterValue',
      `Value (${max}) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
    );
  const start = p.get('NextToken')
    ? Number(Buffer.from(p.get('NextToken') as string, 'base64url').toString())
    : 0;
  if (!Number.isInteger(start) || start < 0) throw new Ec2Error('InvalidParameterValue', 'Invalid NextToken');
  const end = max === undefined ? items.length : start + max;
  return {
    items: items.slice(start, end),
    nextToken: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined,
  };
}

export const actions: Record<string, Handler> = {
  DescribeNetworkInterfaces(w, p) {
    const ids = p.list('NetworkInterfaceId');
    for (const id of ids) w.eni(id); // unknown id → NotFound, as EC2 does
    const filters = p.filters();
    const all = [...w.enis.values()]
      .filter((e) => ids.length === 0 || ids.includes(e.id))
      .filter((e) => filters.every((f) => eniMatches(w, e, f)));
    const r = page(all, p);
    return { networkInterfaceSet: r.items.map((e) => eniXml(w, e)), nextToken: r.nextToken };
  },

  CreateNetworkInterface(w, p) {
    const tags: Record<string, string> = {};
    for (let n = 1; p.get(`TagSpecification.${n}.ResourceType`) !== undefined; n++)
      Object.assign(tags, p.tags(`TagSpecification.${n}.Tag`));
    const eni = w.createEni({
      subnetId: p.get('SubnetId') ?? '',
      description: p.get('Description'),
      groups: p.list('SecurityGroupId'),
      tags,
      secondaryCount: p.int('SecondaryPrivateIpAddressCount'),
      prefixCount: p.int('Ipv4PrefixCount'),
      interfaceType: p.get('InterfaceType') === 'trunk' ? 'trunk' : 'interface',
    });
    return { networkInterface: eniXml(w, eni) };
  },

  AttachNetworkInterface(w, p) {
    const a = w.attach(
      p.get('NetworkInterfaceId') ?? '',
      p.get('InstanceId') ?? '',
      p.int('DeviceIndex') ?? 0,
      p.int('NetworkCardIndex') ?? 0,
    );
    return { attachmentId: a.id, networkCardIndex: a.networkCardIndex };
  },

  DetachNetworkInterface(w, p) {
    w.detach(p.get('AttachmentId') ?? '');
    return { return: true };
  },

  DeleteNetworkInterface(w, p) {
    w.deleteEni(p.get('NetworkInterfaceId') ?? '');
    return { return: true };
  },

  ModifyNetworkInterfaceAttribute(w, p) {
    const eni = w.eni(p.get('NetworkInterfaceId') ?? '');
    const att = p.get('Attachment.AttachmentId');
    if (att !== undefined) {
      if (eni.attachment?.id !== att)
        throw new Ec2Error('InvalidAttachmentID.NotFound', `The attachment ID '${att}' does not exist`);
      eni.attachment.deleteOnTermination =
        p.bool('Attachment.DeleteOnTermination') ?? eni.attachment.deleteOnTermination;
    }
    const groups = p.list('SecurityGroupId');
    if (groups.length > 0) eni.groups = groups;
    return { return: true };
  },

  AssignPrivateIpAddresses(w, p) {
    const eniId = p.get('NetworkInterfaceId') ?? '';
    const r = w.assignPrivateIps(eniId, {
      count: p.int('SecondaryPrivateIpAddressCount'),
      addresses: p.list('PrivateIpAddress'),
      prefixCount: p.int('Ipv4PrefixCount'),
    });
    return {
      networkInterfaceId: eniId,
      assignedPrivateIpAddressesSet: r.ips.map((ip) => ({ privateIpAddress: ip })),
      assignedIpv4PrefixSet: r.prefixes.map((x) => ({ ipv4Prefix: x })),
      return: true,
    };
  },

  UnassignPrivateIpAddresses(w, p) {
    w.unassignPrivateIps(p.get('NetworkInterfaceId') ?? '', {
      addresses: p.list('PrivateIpAddress'),
      prefixes: p.list('Ipv4Prefix'),
    });
    return { return: true };
  },

  DescribeInstances(w, p) {
    const ids = p.list('InstanceId');
    for (const id of ids) w.instance(id);
    const list = [...w.instances.values()].filter((i) => ids.length === 0 || ids.includes(i.id));
    return {
      reservationSet: list.map((i) => ({
        reservationId: `r-${i.id.slice(2)}`,
        ownerId: w.ownerId,
        instancesSet: [instanceXml(w, i)],
      })),
    };
  },

  DescribeInstanceTypes(_w, p) {
    const types = p.list('InstanceType');
    const out = types.map((t) => {
      const x = instanceTypeXml(t);
      if (!x)
        throw new Ec2Error(
          'InvalidInstanceType',
          `The following supplied instance types do not exist: [${t}]`,
        );
      return x;
    });
    return { instanceTypeSet: out };
  },

  DescribeSubnets(w, p) {
    const ids = p.list('SubnetId');
    for (const id of ids) w.subnet(id);
    const filters = p.filters();
    const list = [...w.subnets.values()]
      .filter((s) => ids.length === 0 || ids.includes(s.id))
      .filter((s) =>
        filters.every((f) =>
          f.name === 'vpc-id'
            ? f.values.includes(w.vpcId)
            : f.name.startsWith('tag:')
              ? f.values.includes(s.tags.get(f.name.slice(4)) ?? '\u0000')
              : f.name === 'tag-key'
                ? [...s.tags.keys()].some((k) => f.values.includes(k))
                : f.name === 'availability-zone'
                  ? f.values.includes(s.az)
                  : true,
        ),
      );
    return { subnetSet: list.map((s) => subnetXml(w, s)) };
  },

  DescribeSecurityGroups(w, p) {
    const ids = p.list('GroupId');
    return {
      securityGroupInfo: [...w.groups]
        .filter(([id]) => ids.length === 0 || ids.includes(id))
        .map(([id, name]) => ({ groupId: id, groupName: name, vpcId: w.vpcId, ownerId: w.ownerId })),
    };
  },

  CreateTags(w, p) {
    const tags = p.tags('Tag');
    for (const id of p.list('ResourceId')) {
      const eni = w.eni(id);
      for (const [k, v] of Object.entries(tags)) eni.tags.set(k, v);
    }
    return { return: true };
  },

  DeleteTags(w, p) {
    const tags = p.tags('Tag');
    for (const id of p.list('ResourceId')) for (const k of Object.keys(tags)) w.eni(id).tags.delete(k);
    return { return: true };
  },
};
