// What IMDS shows for one instance: frozen copies of the facts, taken after every world mutation so that the IMDS
// server can answer from a snapshot `lag` ms old (EC2 → IMDS propagation is not instant on real instances).
import type { World } from './world.js';

export interface ImdsEniView {
  mac: string;
  interfaceId: string;
  deviceNumber: number;
  networkCard: number;
  subnetId: string;
  subnetCidr: string;
  subnetIpv6Cidr?: string;
  vpcId: string;
  vpcCidrs: string[];
  vpcIpv6Cidrs: string[];
  securityGroupIds: string[];
  /** Primary first. */
  localIpv4s: string[];
  ipv6s: string[];
  ipv4Prefixes: string[];
  ipv6Prefixes: string[];
}

export interface ImdsInstanceView {
  instanceId: string;
  instanceType: string;
  az: string;
  region: string;
  accountId: string;
  primaryMac: string;
  localIpv4: string;
  ipv6?: string;
  enis: ImdsEniView[]; // only attachments in state `attached`, by device number
}

export function snapshotImds(world: World): Map<string, ImdsInstanceView> {
  const out = new Map<string, ImdsInstanceView>();
  for (const inst of world.instances.values()) {
    const primary = world.enis.get(inst.primaryEniId);
    if (!primary) continue;
    const enis: ImdsEniView[] = world
      .enisOf(inst.id)
      .filter((e) => e.attachment?.status === 'attached')
      .map((e) => {
        const s = world.subnets.get(e.subnetId)!;
        return {
          mac: e.mac,
          interfaceId: e.id,
          deviceNumber: e.attachment!.deviceIndex,
          networkCard: e.attachment!.networkCardIndex,
          subnetId: e.subnetId,
          subnetCidr: s.cidr,
          subnetIpv6Cidr: s.ipv6Cidr,
          vpcId: e.vpcId,
          vpcCidrs: [...world.vpc.cidrs],
          vpcIpv6Cidrs: world.vpc.ipv6Cidr ? [world.vpc.ipv6Cidr] : [],
          securityGroupIds: [...e.groups],
          localIpv4s: [e.primaryIp, ...e.secondaryIps].filter((ip) => ip !== ''), // efa-only: none
          ipv6s: [...e.ipv6Addresses],
          ipv4Prefixes: [...e.ipv4Prefixes],
          ipv6Prefixes: [...e.ipv6Prefixes],
        };
      })
      .sort((a, b) => a.networkCard - b.networkCard || a.deviceNumber - b.deviceNumber);
    out.set(inst.id, {
      instanceId: inst.id,
      instanceType: inst.type,
      az: inst.az,
      region: inst.az.slice(0, -1),
      accountId: world.ownerId,
      primaryMac: primary.mac,
      localIpv4: primary.primaryIp,
      ipv6: primary.ipv6Addresses[0],
      enis,
    });
  }
  return out;
}
