// What ipamd reads from IMDS at start (docs/architecture.md#imds): identity, the primary ENI, and every
// attached ENI.
import type { ImdsClient } from '@vpc-cni/shared/imds';

export interface NodeFacts {
  region: string;
  az: string;
  instanceId: string;
  instanceType: string;
  localIpv4: string;
  primaryMac: string;
  primaryEniId: string;
  subnetId: string;
  vpcId: string;
  vpcIpv4Cidrs: string[];
  securityGroups: string[];
}

export interface AttachedEni {
  mac: string;
  eniId: string;
  deviceNumber: number;
  networkCard: number;
  subnetId: string;
  subnetCidr?: string;
  primaryIp?: string;
  secondaryIps: string[];
  ipv4Prefixes: string[];
}

export async function readNodeFacts(imds: ImdsClient): Promise<NodeFacts> {
  const doc = JSON.parse(await imds.require('dynamic/instance-identity/document')) as { region?: string };
  const mac = await imds.require('meta-data/mac');
  const m = `meta-data/network/interfaces/macs/${mac}`;
  return {
    region: doc.region ?? '',
    az: await imds.require('meta-data/placement/availability-zone'),
    localIpv4: await imds.require('meta-data/local-ipv4'),
    instanceId: await imds.require('meta-data/instance-id'),
    instanceType: await imds.require('meta-data/instance-type'),
    primaryMac: mac,
    primaryEniId: await imds.require(`${m}/interface-id`),
    subnetId: await imds.require(`${m}/subnet-id`),
    vpcId: await imds.require(`${m}/vpc-id`),
    vpcIpv4Cidrs: await imds.list(`${m}/vpc-ipv4-cidr-blocks`),
    securityGroups: await imds.list(`${m}/security-group-ids`),
  };
}

export async function readAttachedEnis(imds: ImdsClient, primaryMac: string): Promise<AttachedEni[]> {
  const macs = (await imds.list('meta-data/network/interfaces/macs')).map((x) => x.replace(/\/$/, ''));
  const out: AttachedEni[] = [];
  for (const mac of macs) {
    const m = `meta-data/network/interfaces/macs/${mac}`;
    const ips = await imds.list(`${m}/local-ipv4s`);
    const device = Number(await imds.require(`${m}/device-number`));
    out.push({
      mac,
      eniId: await imds.require(`${m}/interface-id`),
      deviceNumber: mac === primaryMac ? 0 : device,
      networkCard: Number((await imds.get(`${m}/network-card`)) ?? 0),
      subnetId: await imds.require(`${m}/subnet-id`),
      subnetCidr: ips.length ? await imds.get(`${m}/subnet-ipv4-cidr-block`) : undefined,
      primaryIp: ips[0],
      secondaryIps: ips.slice(1),
      ipv4Prefixes: await imds.list(`${m}/ipv4-prefix`),
    });
  }
  return out.sort((a, b) => a.deviceNumber - b.deviceNumber);
}
