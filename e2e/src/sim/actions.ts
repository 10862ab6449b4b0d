// EC2 Query actions: parameters in, XML object out. Each handler validates like EC2 and delegates to the ops.
import { knownInstanceTypes } from '@vpc-cni/shared/limits';
import {
  Ec2Error,
  invalidParam,
  notFoundEni,
  notFoundGroup,
  notFoundInstance,
  notFoundSubnet,
} from './errors.js';
import type { Faults } from './faults.js';
import { attachEni, deleteEni, detachEni } from './ops-attach.js';
import {
  assignIpv4,
  assignIpv6,
  createEni,
  modifyEni,
  tagsOf,
  unassignIpv4,
  unassignIpv6,
} from './ops-eni.js';
import { matches, paginate, type Params } from './query.js';
import * as r from './render.js';
import type { InterfaceType } from './types.js';
import type { World } from './world.js';
import type { XmlObject } from './xml.js';
import { trunkActions } from './actions-trunk.js';
import { dropAssociationsOf } from './ops-trunk.js';
import { securityGroupActions } from './actions-sg.js';

export interface Ctx {
  w: World;
  p: Params;
  faults: Faults;
}

type Handler = (c: Ctx) => XmlObject | Promise<XmlObject>;

/** Ids requested explicitly must all exist (EC2 fails the whole call naming the missing one). */
function byIds<T>(
  ids: string[],
  get: (id: string) => T | undefined,
  notFound: (id: string) => Ec2Error,
): T[] {
  return ids.map(
    (id) =>
      get(id) ??
      (() => {
        throw notFound(id);
      })(),
  );
}

/** EC2 refuses MaxResults together with explicit ids on DescribeNetworkInterfaces / DescribeInstances. */
function noPagingWithIds(p: Params, ids: string[], what: string): void {
  if (ids.length > 0 && p.get('MaxResults') !== undefined)
    throw new Ec2Error(
      'InvalidParameterCombination',
      `The parameter ${what} cannot be used with the parameter maxResults`,
    );
}

const describeNetworkInterfaces: Handler = ({ w, p }) => {
  const ids = p.list('NetworkInterfaceId');
  noPagingWithIds(p, ids, 'networkInterfaceIdSet');
  const all = ids.length > 0 ? byIds(ids, (id) => w.enis.get(id), notFoundEni) : [...w.enis.values()];
  const filters = p.filters();
  const hits = all.filter((e) => matches(filters, e.tags, (n) => r.eniAttrs(e, n)));
  const { page, nextToken } = paginate(hits, p);
  return { networkInterfaceSet: page.map((e) => r.eniXml(w, e)), nextToken };
};

const describeInstances: Handler = ({ w, p }) => {
  const ids = p.list('InstanceId');
  noPagingWithIds(p, ids, 'instancesSet');
  const all =
    ids.length > 0 ? byIds(ids, (id) => w.instances.get(id), notFoundInstance) : [...w.instances.values()];
  const filters = p.filters();
  const hits = all.filter((i) => matches(filters, i.tags, (n) => r.instanceAttrs(w, i, n)));
  const { page, nextToken } = paginate(hits, p);
  return {
    reservationSet: page.map((i) => ({
      reservationId: `r-${i.id.slice(2)}`,
      ownerId: w.ownerId,
      groupSet: [],
      instancesSet: [r.instanceXml(w, i)],
    })),
    nextToken,
  };
};

const describeInstanceTypes: Handler = ({ w, p }) => {
  const ids = p.list('InstanceType');
  for (const t of ids)
    if (!knownInstanceTypes().includes(t))
      throw new Ec2Error('InvalidInstanceType', `The following supplied instance types do not exist: [${t}]`);
  const types = ids.length > 0 ? ids : knownInstanceTypes();
  const { page, nextToken } = paginate(types, p, [5, 100]);
  return { instanceTypeSet: page.map((t) => r.instanceTypeXml(t, w.limits(t))), nextToken };
};

const describeSubnets: Handler = ({ w, p }) => {
  const ids = p.list('SubnetId');
  const all =
    ids.length > 0 ? byIds(ids, (id) => w.subnets.get(id), notFoundSubnet) : [...w.subnets.values()];
  const filters = p.filters();
  const hits = all.filter((s) => matches(filters, s.tags, (n) => r.subnetAttrs(s, n)));
  const { page, nextToken } = paginate(hits, p);
  return { subnetSet: page.map((s) => r.subnetXml(w, s)), nextToken };
};

const describeSecurityGroups: Handler = ({ w, p }) => {
  const ids = p.list('GroupId');
  const all = ids.length > 0 ? byIds(ids, (id) => w.groups.get(id), notFoundGroup) : [...w.groups.values()];
  const filters = p.filters();
  const hits = all.filter((g) => matches(filters, g.tags, (n) => r.groupAttrs(g, n)));
  const { page, nextToken } = paginate(hits, p);
  return { securityGroupInfo: page.map((g) => r.groupXml(w, g)), nextToken };
};

const createNetworkInterface: Handler = ({ w, p }) => {
  const tags: Record<string, string> = {};
  for (const i of p.indexes('TagSpecification')) {
    const rt = p.get(`TagSpecification.${i}.ResourceType`);
    if (rt !== 'network-interface')
      throw invalidParam(`'${rt ?? ''}' is not a valid taggable resource type for this operation.`);
    for (const t of p.tags(`TagSpecification.${i}.Tag`)) tags[t.key] = t.value;
  }
  const explicit = p.indexes('PrivateIpAddresses').map((i) => ({
    ip: p.get(`PrivateIpAddresses.${i}.PrivateIpAddress`)!,
    primary: p.get(`PrivateIpAddresses.${i}.Primary`) === 'true',
  }));
  const it = p.get('InterfaceType');
  if (it !== undefined && !['trunk', 'branch', 'efa', 'efa-only', 'interface'].includes(it))
    throw invalidParam(`Invalid interface type: ${it}`);
  const e = createEni(w, {
    subnetId: p.required('SubnetId'),
    groups: p.list('SecurityGroupId'),
    description: p.get('Description'),
    privateIp: p.get('PrivateIpAddress') ?? explicit.find((x) => x.primary)?.ip,
    secondaryIps: explicit.filter((x) => !x.primary).map((x) => x.ip),
    secondaryCount: p.int('SecondaryPrivateIpAddressCount'),
    ipv4PrefixCount: p.int('Ipv4PrefixCount'),
    ipv4Prefixes: p.indexes('Ipv4Prefix').map((i) => p.get(`Ipv4Prefix.${i}.Ipv4Prefix`)!),
    ipv6Count: p.int('Ipv6AddressCount'),
    ipv6PrefixCount: p.int('Ipv6PrefixCount'),
    interfaceType: it as InterfaceType | undefined,
    tags,
  });
  return { networkInterface: r.eniXml(w, e), clientToken: p.get('ClientToken') };
};

const attachNetworkInterface: Handler = async ({ w, p, faults }) => {
  const deviceIndex = p.int('DeviceIndex');
  if (deviceIndex === undefined)
    throw new Ec2Error('MissingParameter', 'The request must contain the parameter DeviceIndex');
  const networkCardIndex = p.int('NetworkCardIndex') ?? 0;
  const id = await attachEni(
    w,
    {
      eniId: p.required('NetworkInterfaceId'),
      instanceId: p.required('InstanceId'),
      deviceIndex,
      networkCardIndex,
    },
    faults.config.attachDelayMs,
  );
  return { attachmentId: id, networkCardIndex };
};

const detachNetworkInterface: Handler = async ({ w, p, faults }) => {
  await detachEni(w, p.required('AttachmentId'), faults.config.detachDelayMs);
  return { return: true };
};

const deleteNetworkInterface: Handler = ({ w, p }) => {
  const id = p.required('NetworkInterfaceId');
  deleteEni(w, id);
  dropAssociationsOf(w, id);
  return { return: true };
};

const modifyNetworkInterfaceAttribute: Handler = ({ w, p }) => {
  const groups = p.list('SecurityGroupId');
  const attId = p.get('Attachment.AttachmentId');
  const sdc = p.get('SourceDestCheck.Value');
  modifyEni(w, p.required('NetworkInterfaceId'), {
    groups: groups.length > 0 ? groups : undefined,
    description: p.get('Description.Value'),
    sourceDestCheck: sdc === undefined ? undefined : sdc === 'true',
    attachment: attId
      ? { id: attId, deleteOnTermination: p.get('Attachment.DeleteOnTermination') === 'true' }
      : undefined,
  });
  return { return: true };
};

const assignPrivateIpAddresses: Handler = ({ w, p }) => {
  const id = p.required('NetworkInterfaceId');
  const got = assignIpv4(w, id, {
    count: p.int('SecondaryPrivateIpAddressCount'),
    ips: p.list('PrivateIpAddress'),
    prefixCount: p.int('Ipv4PrefixCount'),
    prefixes: p.list('Ipv4Prefix'),
  });
  return {
    networkInterfaceId: id,
    assignedPrivateIpAddressesSet: got.ips.map((privateIpAddress) => ({ privateIpAddress })),
    assignedIpv4PrefixSet: got.prefixes.map((ipv4Prefix) => ({ ipv4Prefix })),
    return: true,
  };
};

const unassignPrivateIpAddresses: Handler = ({ w, p }) => {
  const ips = p.list('PrivateIpAddress');
  const prefixes = p.list('Ipv4Prefix');
  if (ips.length === 0 && prefixes.length === 0)
    throw new Ec2Error('MissingParameter', 'Either PrivateIpAddresses or Ipv4Prefixes must be specified');
  unassignIpv4(w, p.required('NetworkInterfaceId'), ips, prefixes);
  return { return: true };
};

const assignIpv6Addresses: Handler = ({ w, p }) => {
  const id = p.required('NetworkInterfaceId');
  const got = assignIpv6(w, id, {
    count: p.int('Ipv6AddressCount'),
    addresses: p.list('Ipv6Addresses'),
    prefixCount: p.int('Ipv6PrefixCount'),
    prefixes: p.list('Ipv6Prefix'),
  });
  return {
    networkInterfaceId: id,
    assignedIpv6Addresses: got.addresses,
    assignedIpv6PrefixSet: got.prefixes,
  };
};

const unassignIpv6Addresses: Handler = ({ w, p }) => {
  const id = p.required('NetworkInterfaceId');
  const got = unassignIpv6(w, id, p.list('Ipv6Addresses'), p.list('Ipv6Prefix'));
  return {
    networkInterfaceId: id,
    unassignedIpv6Addresses: got.addresses,
    unassignedIpv6PrefixSet: got.prefixes,
  };
};

const createTags: Handler = ({ w, p }) => {
  const ids = p.list('ResourceId');
  if (ids.length === 0)
    throw new Ec2Error('MissingParameter', 'The request must contain the parameter resourceIdSet');
  const maps = ids.map((id) => tagsOf(w, id)); // all must exist before any is changed
  for (const m of maps) for (const t of p.tags('Tag')) m.set(t.key, t.value);
  w.changed();
  return { return: true };
};

const deleteTags: Handler = ({ w, p }) => {
  const maps = p.list('ResourceId').map((id) => tagsOf(w, id));
  const tags = p.indexes('Tag').map((i) => ({ key: p.get(`Tag.${i}.Key`)!, value: p.get(`Tag.${i}.Value`) }));
  for (const m of maps)
    for (const t of tags) if (t.value === undefined || m.get(t.key) === t.value) m.delete(t.key);
  w.changed();
  return { return: true };
};

/** One row per (resource, tag), filtered by resource-id, resource-type, key, value (as EC2 does). */
const describeTags: Handler = ({ w, p }) => {
  const kinds: [string, Iterable<{ id: string; tags: Map<string, string> }>][] = [
    ['instance', w.instances.values()],
    ['network-interface', w.enis.values()],
    ['subnet', w.subnets.values()],
    ['security-group', w.groups.values()],
  ];
  const rows = kinds.flatMap(([type, items]) =>
    [...items].flatMap((o) =>
      [...o.tags].map(([key, value]) => ({ resourceId: o.id, resourceType: type, key, value })),
    ),
  );
  const filters = p.filters();
  const attr = (row: (typeof rows)[number], name: string): string[] | undefined =>
    ({
      'resource-id': [row.resourceId],
      'resource-type': [row.resourceType],
      key: [row.key],
      value: [row.value],
    })[name];
  const hits = rows.filter((row) => matches(filters, new Map(), (n) => attr(row, n)));
  const { page, nextToken } = paginate(hits, p);
  return { tagSet: page, nextToken };
};

export const actions: Record<string, Handler> = {
  DescribeTags: describeTags,
  DescribeInstances: describeInstances,
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeSubnets: describeSubnets,
  DescribeSecurityGroups: describeSecurityGroups,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  CreateNetworkInterface: createNetworkInterface,
  AttachNetworkInterface: attachNetworkInterface,
  DetachNetworkInterface: detachNetworkInterface,
  DeleteNetworkInterface: deleteNetworkInterface,
  ModifyNetworkInterfaceAttribute: modifyNetworkInterfaceAttribute,
  AssignPrivateIpAddresses: assignPrivateIpAddresses,
  UnassignPrivateIpAddresses: unassignPrivateIpAddresses,
  AssignIpv6Addresses: assignIpv6Addresses,
  UnassignIpv6Addresses: unassignIpv6Addresses,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  ...trunkActions,
  ...securityGroupActions,
};
