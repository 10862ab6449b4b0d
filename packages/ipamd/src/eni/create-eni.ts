// Creating and attaching one ENI (docs/architecture.md#warm-pool, "Creating an ENI"): CreateNetworkInterface
// with its first addresses, description `aws-K8S-<instance>` and our tags, in the first candidate subnet that
// has room (the next is tried on failure); AttachNetworkInterface at the given device index;
// DeleteOnTermination. A failed attach deletes the ENI at once, so nothing leaks (a lost reply is caught
// later by the leaked-ENI sweep through the tags).
import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  type EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';
import { CapacityError } from '../service/supply.js';
import { type CallObserver, ec2Call, errorCode } from './ec2-call.js';
import type { PoolObserver } from './observer.js';
import { NO_VALID_SUBNETS, type SubnetInfo } from './subnets.js';

export interface CreateEniContext {
  ec2: EC2Client;
  instanceId: string;
  securityGroups: string[];
  clusterName?: string | undefined;
  extraTags?: Record<string, string> | undefined;
  logger: Logger;
  onCall?: CallObserver | undefined;
  observer?: PoolObserver | undefined;
}

export function eniTags(c: CreateEniContext, now = new Date()): { Key: string; Value: string }[] {
  const tags: Record<string, string> = {
    'node.k8s.amazonaws.com/createdAt': now.toISOString().replace(/\.\d+Z$/, 'Z'),
    'node.k8s.amazonaws.com/instance_id': c.instanceId,
    ...(c.clusterName
      ? { 'cluster.k8s.amazonaws.com/name': c.clusterName, 'eks:eni:owner': 'amazon-vpc-cni' }
      : {}),
    // ADDITIONAL_ENI_TAGS may not override ours.
    ...Object.fromEntries(
      Object.entries(c.extraTags ?? {}).filter(([k]) => !k.includes('k8s.amazonaws.com')),
    ),
  };
  return Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([Key, Value]) => ({ Key, Value }));
}

export async function createAndAttachEni(
  c: CreateEniContext,
  r: {
    resources: number;
    /** 'ipv6': IPv6 mode, the ENI's own IPv6 addresses (`Ipv6AddressCount`; its /80 is assigned after). */
    unit: 'ip' | 'prefix' | 'ipv6';
    deviceNumber: number;
    subnets: SubnetInfo[];
    /** Network card to attach on (default 0). */
    networkCard?: number;
  },
): Promise<{ eni: NetworkInterface; subnet: SubnetInfo }> {
  if (r.subnets.length === 0) throw new CapacityError('subnet-exhausted', NO_VALID_SUBNETS);
  let created: { eni: NetworkInterface; subnet: SubnetInfo } | undefined;
  let lastError: unknown;
  for (const subnet of r.subnets) {
    try {
      const out = await ec2Call(
        'CreateNetworkInterface',
        () =>
          c.ec2.send(
            new CreateNetworkInterfaceCommand({
              SubnetId: subnet.id,
              Description: `aws-K8S-${c.instanceId}`,
              Groups: [...c.securityGroups].sort(),
              TagSpecifications: [{ ResourceType: 'network-interface', Tags: eniTags(c) }],
              ...(r.unit === 'ip'
                ? { SecondaryPrivateIpAddressCount: r.resources }
                : r.unit === 'prefix'
                  ? { Ipv4PrefixCount: r.resources }
                  : { Ipv6AddressCount: r.resources }),
            }),
          ),
        { onCall: c.onCall, subnetId: subnet.id },
      );
      if (out.NetworkInterface?.NetworkInterfaceId) {
        created = { eni: out.NetworkInterface, subnet };
        break;
      }
    } catch (e) {
      lastError = e;
      c.logger.warn({ subnet: subnet.id, err: e }, 'CreateNetworkInterface failed; trying the next subnet');
    }
  }
  if (!created) throw lastError ?? new Error('CreateNetworkInterface returned no interface');
  const id = created.eni.NetworkInterfaceId!;
  try {
    const att = await ec2Call(
      'AttachNetworkInterface',
      () =>
        c.ec2.send(
          new AttachNetworkInterfaceCommand({
            NetworkInterfaceId: id,
            InstanceId: c.instanceId,
            DeviceIndex: r.deviceNumber,
            NetworkCardIndex: r.networkCard ?? 0,
          }),
        ),
      c,
    );
    await ec2Call(
      'ModifyNetworkInterfaceAttribute',
      () =>
        c.ec2.send(
          new ModifyNetworkInterfaceAttributeCommand({
            NetworkInterfaceId: id,
            Attachment: { AttachmentId: att.AttachmentId, DeleteOnTermination: true },
          }),
        ),
      c,
    );
  } catch (e) {
    await ec2Call(
      'DeleteNetworkInterface',
      () => c.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })),
      c,
    ).catch((d: unknown) => {
      c.observer?.utilsError('AllocENIDeleteErr', errorCode(d));
      c.logger.error({ eni: id, err: d }, 'could not delete the ENI whose attach failed');
    });
    throw e;
  }
  return created;
}
