// IMDS path → body, from one instance snapshot. Directory listings end entries with `/`; lists are newline separated;
// an absent value (no IPv6, no prefixes) is a 404 (undefined here), as on a real instance.
import type { ImdsEniView, ImdsInstanceView } from './imds-view.js';

function eniFields(e: ImdsEniView): Record<string, string | undefined> {
  const list = (xs: string[]): string | undefined => (xs.length > 0 ? xs.join('\n') : undefined);
  return {
    'device-number': String(e.deviceNumber),
    'interface-id': e.interfaceId,
    'local-ipv4s': list(e.localIpv4s),
    ipv6s: list(e.ipv6s),
    'ipv4-prefix': list(e.ipv4Prefixes),
    'ipv6-prefix': list(e.ipv6Prefixes),
    mac: e.mac,
    'network-card': String(e.networkCard),
    'security-group-ids': list(e.securityGroupIds),
    'subnet-id': e.subnetId,
    'subnet-ipv4-cidr-block': e.subnetCidr,
    'subnet-ipv6-cidr-blocks': e.subnetIpv6Cidr,
    'vpc-id': e.vpcId,
    'vpc-ipv4-cidr-block': e.vpcCidrs[0],
    'vpc-ipv4-cidr-blocks': list(e.vpcCidrs),
    'vpc-ipv6-cidr-blocks': list(e.vpcIpv6Cidrs),
    'local-hostname': `ip-${(e.localIpv4s[0] ?? '').replace(/\./g, '-')}.us-west-2.compute.internal`,
  };
}

const listing = (fields: Record<string, string | undefined>): string =>
  Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k)
    .join('\n');

export function imdsPaths(v: ImdsInstanceView, rawPath: string): string | undefined {
  if (rawPath === '/latest/dynamic/instance-identity/document') {
    return JSON.stringify(
      {
        accountId: v.accountId,
        architecture: 'x86_64',
        availabilityZone: v.az,
        imageId: 'ami-0sim0000000000000',
        instanceId: v.instanceId,
        instanceType: v.instanceType,
        pendingTime: '2026-01-01T00:00:00Z',
        privateIp: v.localIpv4,
        region: v.region,
        version: '2017-09-30',
      },
      null,
      2,
    );
  }
  const prefix = '/latest/meta-data/';
  if (!rawPath.startsWith(prefix) && rawPath !== '/latest/meta-data') return undefined;
  const path = rawPath.slice(prefix.length).replace(/\/+$/, '');
  const top: Record<string, string | undefined> = {
    'instance-id': v.instanceId,
    'instance-type': v.instanceType,
    'local-ipv4': v.localIpv4,
    'local-hostname': `ip-${v.localIpv4.replace(/\./g, '-')}.us-west-2.compute.internal`,
    hostname: `ip-${v.localIpv4.replace(/\./g, '-')}.us-west-2.compute.internal`,
    ipv6: v.ipv6,
    mac: v.primaryMac,
  };
  if (path === '') return [...listing(top).split('\n'), 'network/', 'placement/'].join('\n');
  if (path in top) return top[path];
  if (path === 'placement') return 'availability-zone\nregion';
  if (path === 'placement/availability-zone') return v.az;
  if (path === 'placement/region') return v.region;
  if (path === 'network') return 'interfaces/';
  if (path === 'network/interfaces') return 'macs/';
  if (path === 'network/interfaces/macs') return v.enis.map((e) => `${e.mac}/`).join('\n');
  const m = /^network\/interfaces\/macs\/([0-9a-f:]{17})(?:\/(.+))?$/.exec(path);
  if (!m) return undefined;
  const eni = v.enis.find((e) => e.mac === m[1]);
  if (!eni) return undefined;
  const fields = eniFields(eni);
  if (m[2] === undefined) return listing(fields);
  return fields[m[2]];
}
