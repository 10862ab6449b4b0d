// World records → EC2 XML shapes (element names as the SDK v3 EC2 protocol reads them), and each resource's
// values for the Describe* filters we support.
import type { InstanceLimits } from '@vpc-cni/shared/limits';
import type { Eni, Instance, SecurityGroup, Subnet, Tags } from './types.js';
import type { World } from './world.js';
import type { XmlObject } from './xml.js';

export const tagSet = (t: Tags): XmlObject[] => [...t].map(([key, value]) => ({ key, value }));

function groupSet(w: World, ids: string[]): XmlObject[] {
  return ids.map((id) => ({ groupId: id, groupName: w.groups.get(id)?.name }));
}

/** NetworkInterface (DescribeNetworkInterfaces, CreateNetworkInterface). */
export function eniXml(w: World, e: Eni): XmlObject {
  const a = e.attachment;
  return {
    networkInterfaceId: e.id,
    subnetId: e.subnetId,
    vpcId: e.vpcId,
    availabilityZone: e.az,
    description: e.description,
    ownerId: w.ownerId,
    requesterManaged: e.requesterManaged,
    status: e.status,
    macAddress: e.mac,
    // An efa-only interface has no address, hence no private address or DNS name.
    privateIpAddress: e.primaryIp || undefined,
    privateDnsName: e.primaryIp
      ? `ip-${e.primaryIp.replace(/\./g, '-')}.us-west-2.compute.internal`
      : undefined,
    sourceDestCheck: e.sourceDestCheck,
    groupSet: groupSet(w, e.groups),
    attachment: a && {
      attachmentId: a.id,
      instanceId: a.instanceId,
      instanceOwnerId: w.ownerId,
      deviceIndex: a.deviceIndex,
      networkCardIndex: a.networkCardIndex,
      status: a.status,
      attachTime: a.attachTime,
      deleteOnTermination: a.deleteOnTermination,
    },
    tagSet: tagSet(e.tags),
    privateIpAddressesSet: (e.primaryIp ? [e.primaryIp, ...e.secondaryIps] : []).map((ip, i) => ({
      privateIpAddress: ip,
      primary: i === 0,
    })),
    ipv6AddressesSet: e.ipv6Addresses.map((ipv6Address) => ({ ipv6Address })),
    ipv4PrefixSet: e.ipv4Prefixes.map((ipv4Prefix) => ({ ipv4Prefix })),
    ipv6PrefixSet: e.ipv6Prefixes.map((ipv6Prefix) => ({ ipv6Prefix })),
    interfaceType: e.interfaceType,
  };
}

/** InstanceNetworkInterface (inside DescribeInstances). */
function instanceEniXml(w: World, e: Eni): XmlObject {
  const x = eniXml(w, e);
  const a = e.attachment!;
  return {
    ...x,
    attachment: {
      attachmentId: a.id,
      deviceIndex: a.deviceIndex,
      networkCardIndex: a.networkCardIndex,
      status: a.status,
      attachTime: a.attachTime,
      deleteOnTermination: a.deleteOnTermination,
    },
    tagSet: undefined,
    availabilityZone: undefined,
    requesterManaged: undefined,
  };
}

export function instanceXml(w: World, i: Instance): XmlObject {
  const primary = w.enis.get(i.primaryEniId);
  const enis = w.enisOf(i.id).sort((a, b) => a.attachment!.deviceIndex - b.attachment!.deviceIndex);
  return {
    instanceId: i.id,
    imageId: 'ami-0sim0000000000000',
    instanceState: { code: 16, name: 'running' },
    privateDnsName: primary
      ? `ip-${primary.primaryIp.replace(/\./g, '-')}.us-west-2.compute.internal`
      : undefined,
    instanceType: i.type,
    launchTime: i.launchTime,
    placement: { availabilityZone: i.az, tenancy: 'default' },
    subnetId: i.subnetId,
    vpcId: i.vpcId,
    privateIpAddress: primary?.primaryIp,
    groupSet: groupSet(w, primary?.groups ?? []),
    tagSet: tagSet(i.tags),
    networkInterfaceSet: enis.map((e) => instanceEniXml(w, e)),
    hypervisor: w.limits(i.type).hypervisor === 'xen' ? 'xen' : 'nitro',
  };
}

export function subnetXml(w: World, s: Subnet): XmlObject {
  return {
    subnetId: s.id,
    subnetArn: `arn:aws:ec2:us-west-2:${w.ownerId}:subnet/${s.id}`,
    state: 'available',
    vpcId: s.vpcId,
    ownerId: w.ownerId,
    cidrBlock: s.cidr,
    availableIpAddressCount: w.alloc(s.id).available(),
    availabilityZone: s.az,
    availabilityZoneId: s.azId,
    defaultForAz: false,
    mapPublicIpOnLaunch: false,
    assignIpv6AddressOnCreation: false,
    ipv6CidrBlockAssociationSet: s.ipv6Cidr
      ? [
          {
            ipv6CidrBlock: s.ipv6Cidr,
            associationId: `subnet-cidr-assoc-${s.id.slice(7)}`,
            ipv6CidrBlockState: { state: 'associated' },
          },
        ]
      : [],
    tagSet: tagSet(s.tags),
  };
}

export function groupXml(w: World, g: SecurityGroup): XmlObject {
  return {
    ownerId: w.ownerId,
    groupId: g.id,
    groupName: g.name,
    groupDescription: g.description,
    vpcId: g.vpcId,
    ipPermissions: (g.ingress ?? []).map((r) => ({
      ipProtocol: r.protocol,
      ...(r.protocol === 'tcp' || r.protocol === 'udp' ? { fromPort: r.fromPort, toPort: r.toPort } : {}),
      ipRanges: r.cidrs.map((cidrIp) => ({ cidrIp })),
      groups: r.groups.map((groupId) => ({ groupId, userId: w.ownerId })),
    })),
    ipPermissionsEgress: [],
    tagSet: tagSet(g.tags),
  };
}

export function instanceTypeXml(type: string, l: InstanceLimits): XmlObject {
  return {
    instanceType: type,
    currentGeneration: true,
    bareMetal: l.bareMetal,
    hypervisor: l.hypervisor === 'unknown' ? undefined : l.hypervisor,
    networkInfo: {
      networkPerformance: 'Up to 10 Gigabit',
      maximumNetworkInterfaces: l.networkCards.reduce((s, c) => s + c.maxEnis, 0),
      maximumNetworkCards: l.networkCards.length,
      defaultNetworkCardIndex: l.defaultNetworkCardIndex,
      networkCards: l.networkCards.map((c) => ({
        networkCardIndex: c.index,
        maximumNetworkInterfaces: c.maxEnis,
      })),
      ipv4AddressesPerInterface: l.ipv4PerEni,
      ipv6AddressesPerInterface: l.ipv4PerEni,
      ipv6Supported: l.hypervisor === 'nitro',
      encryptionInTransitSupported: false,
      efaSupported: false,
      enaSupport: 'required',
    },
  };
}

/** Filter values of an ENI (DescribeNetworkInterfaces). */
export function eniAttrs(e: Eni, name: string): string[] | undefined {
  switch (name) {
    case 'network-interface-id':
      return [e.id];
    case 'subnet-id':
      return [e.subnetId];
    case 'vpc-id':
      return [e.vpcId];
    case 'status':
      return [e.status];
    case 'description':
      return [e.description];
    case 'availability-zone':
      return [e.az];
    case 'mac-address':
      return [e.mac];
    case 'interface-type':
      return [e.interfaceType];
    case 'group-id':
      return e.groups;
    case 'attachment.instance-id':
      return e.attachment ? [e.attachment.instanceId] : [];
    case 'attachment.attachment-id':
      return e.attachment ? [e.attachment.id] : [];
    case 'attachment.status':
      return e.attachment ? [e.attachment.status] : [];
    case 'attachment.device-index':
      return e.attachment ? [String(e.attachment.deviceIndex)] : [];
    case 'private-ip-address':
    case 'addresses.private-ip-address':
      return [e.primaryIp, ...e.secondaryIps].filter((ip) => ip !== '');
    default:
      return undefined;
  }
}

export function subnetAttrs(s: Subnet, name: string): string[] | undefined {
  switch (name) {
    case 'subnet-id':
      return [s.id];
    case 'vpc-id':
      return [s.vpcId];
    case 'availability-zone':
      return [s.az];
    case 'availability-zone-id':
      return [s.azId];
    case 'cidr-block':
    case 'cidr':
      return [s.cidr];
    case 'state':
      return ['available'];
    default:
      return undefined;
  }
}

export function groupAttrs(g: SecurityGroup, name: string): string[] | undefined {
  switch (name) {
    case 'group-id':
      return [g.id];
    case 'group-name':
      return [g.name];
    case 'vpc-id':
      return [g.vpcId];
    case 'description':
      return [g.description];
    default:
      return undefined;
  }
}

export function instanceAttrs(w: World, i: Instance, name: string): string[] | undefined {
  switch (name) {
    case 'instance-id':
      return [i.id];
    case 'instance-type':
      return [i.type];
    case 'subnet-id':
      return [i.subnetId];
    case 'vpc-id':
      return [i.vpcId];
    case 'availability-zone':
      return [i.az];
    case 'instance-state-name':
      return ['running'];
    case 'network-interface.network-interface-id':
      return w.enisOf(i.id).map((e) => e.id);
    case 'private-ip-address':
      return [w.enis.get(i.primaryEniId)?.primaryIp ?? ''];
    default:
      return undefined;
  }
}
