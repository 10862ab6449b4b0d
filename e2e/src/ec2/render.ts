// World objects as EC2's XML structures.
import type { Eni, Instance, Subnet, World } from './world.js';
import type { XmlNode } from './xml.js';
import { instanceLimits } from '@vpc-cni/shared/limits';
import { formatCidr } from '@vpc-cni/shared/ipmath';

const tagSet = (tags: Map<string, string>) => [...tags].map(([key, value]) => ({ key, value }));

export function eniXml(w: World, e: Eni): XmlNode {
  const s = w.subnets.get(e.subnetId);
  return {
    networkInterfaceId: e.id,
    subnetId: e.subnetId,
    vpcId: w.vpcId,
    availabilityZone: s?.az,
    description: e.description,
    ownerId: w.ownerId,
    requesterManaged: false,
    status: e.attachment ? 'in-use' : 'available',
    macAddress: e.mac,
    privateIpAddress: e.primaryIp,
    sourceDestCheck: true,
    interfaceType: e.interfaceType,
    groupSet: e.groups.map((id) => ({ groupId: id, groupName: w.groups.get(id) ?? id })),
    attachment: e.attachment
      ? {
          attachmentId: e.attachment.id,
          instanceId: e.attachment.instanceId,
          instanceOwnerId: w.ownerId,
          deviceIndex: e.attachment.deviceIndex,
          networkCardIndex: e.attachment.networkCardIndex,
          status: 'attached',
          attachTime: e.attachment.attachedAt.toISOString(),
          deleteOnTermination: e.attachment.deleteOnTermination,
        }
      : undefined,
    tagSet: tagSet(e.tags),
    privateIpAddressesSet: [
      { privateIpAddress: e.primaryIp, primary: true },
      ...e.secondaryIps.map((ip) => ({ privateIpAddress: ip, primary: false })),
    ],
    ipv4PrefixSet: e.prefixes.map((p) => ({ ipv4Prefix: p })),
    ipv6AddressesSet: [],
    ipv6PrefixSet: e.ipv6Prefixes.map((p) => ({ ipv6Prefix: p })),
  };
}

export function subnetXml(w: World, s: Subnet): XmlNode {
  return {
    subnetId: s.id,
    vpcId: w.vpcId,
    state: 'available',
    cidrBlock: formatCidr(s.cidr),
    availableIpAddressCount: w.availableAddresses(s),
    availabilityZone: s.az,
    tagSet: tagSet(s.tags),
  };
}

export function instanceXml(w: World, i: Instance): XmlNode {
  const enis = w.attachedEnis(i.id);
  const primary = w.enis.get(i.primaryEniId);
  return {
    instanceId: i.id,
    instanceType: i.type,
    placement: { availabilityZone: i.az },
    subnetId: i.subnetId,
    vpcId: w.vpcId,
    privateIpAddress: primary?.primaryIp,
    instanceState: { code: 16, name: 'running' },
    networkInterfaceSet: enis.map((e) => ({
      networkInterfaceId: e.id,
      subnetId: e.subnetId,
      macAddress: e.mac,
      privateIpAddress: e.primaryIp,
      status: 'in-use',
      attachment: e.attachment
        ? {
            attachmentId: e.attachment.id,
            deviceIndex: e.attachment.deviceIndex,
            networkCardIndex: e.attachment.networkCardIndex,
            status: 'attached',
            deleteOnTermination: e.attachment.deleteOnTermination,
          }
        : undefined,
    })),
  };
}

export function instanceTypeXml(type: string): XmlNode | undefined {
  const l = instanceLimits(type);
  if (!l) return undefined;
  return {
    instanceType: type,
    hypervisor: l.hypervisor === 'unknown' ? undefined : l.hypervisor,
    bareMetal: l.bareMetal,
    networkInfo: {
      maximumNetworkInterfaces: l.enis,
      ipv4AddressesPerInterface: l.ipv4PerEni,
      ipv6AddressesPerInterface: l.ipv4PerEni,
      defaultNetworkCardIndex: l.defaultNetworkCardIndex,
      networkCards: l.networkCards.map((c) => ({
        networkCardIndex: c.index,
        maximumNetworkInterfaces: c.maxEnis,
      })),
    },
  };
}
