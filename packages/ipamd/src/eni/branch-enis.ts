// Self-managed trunk and branch ENIs (docs/architecture.md#decisions, 12), for clusters without the VPC
// resource controller: ipamd attaches a trunk ENI to its instance, creates a branch ENI per matching pod in
// the trunk's subnet with the policy's security groups, associates it with the trunk under the lowest free
// VLAN id, and deletes it when the pod goes. Everything it creates is tagged with the instance (and the pod),
// so a sweep after a restart finds branch ENIs whose pod is gone.
import {
  AssociateTrunkInterfaceCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DescribeTrunkInterfaceAssociationsCommand,
  DisassociateTrunkInterfaceCommand,
  type EC2Client,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';
import type { PodEniData } from '../k8s/pod-eni.js';
import type { Datastore } from '../store/index.js';
import { Mutex } from './mutex.js';

export const TAG_TRUNK_OF = 'vpc-cni-ts/trunk-of-instance';
export const TAG_BRANCH_OF = 'vpc-cni-ts/branch-of-instance';
export const TAG_POD = 'vpc-cni-ts/pod';
export const TAG_POD_UID = 'vpc-cni-ts/pod-uid';

/** EC2 refused a security group of the policy: the pod cannot start until the policy is fixed. */
export class BranchGroupError extends Error {}

export interface BranchEnisOptions {
  ec2: EC2Client;
  instanceId: string;
  /** Branch ENIs per trunk for this instance type (VLAN ids 1..limit); 0 = the type cannot trunk. */
  branchLimit: number;
  /** The instance's ENI slots (device indexes 0..maxEnis-1). */
  maxEnis: number;
  primarySubnetId: string;
  primaryGroups: string[];
  /** Custom networking: the trunk goes to the ENIConfig subnet with its groups (then so do branch ENIs). */
  trunkPlacement?: () => Promise<{ subnetId: string; groups: string[] }>;
  ds: Datastore;
  /** The pool's lock: attaching the trunk takes a device slot growth might want. */
  poolLock: Mutex;
  logger: Logger;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

const tagOf = (n: NetworkInterface, key: string) => n.TagSet?.find((t) => t.Key === key)?.Value;
const codeOf = (e: unknown) => (e as { name?: string }).name ?? '';

export class BranchEnis {
  private readonly lock = new Mutex();
  private trunkRequested = false;

  constructor(private readonly o: BranchEnisOptions) {}

  private trunk() {
    return this.o.ds.eniList().find((e) => e.isTrunk);
  }

  /**
   * Creates and attaches the trunk when the instance has none; the pool's reconcile then adopts it. Returns
   * whether a trunk is in the pool now.
   */
  async ensureTrunk(): Promise<boolean> {
    if (this.trunk()) return true;
    if (this.o.branchLimit === 0 || this.trunkRequested) return false;
    await this.o.poolLock.run(async () => {
      const attached = await this.describe([{ Name: 'attachment.instance-id', Values: [this.o.instanceId] }]);
      if (attached.some((n) => n.InterfaceType === 'trunk')) return;
      const used = new Set(attached.map((n) => n.Attachment?.DeviceIndex ?? 0));
      const slot = Array.from({ length: this.o.maxEnis }, (_, i) => i).find((i) => !used.has(i));
      if (slot === undefined) {
        this.o.logger.warn({ instance: this.o.instanceId }, 'no ENI slot free for a trunk ENI');
        return;
      }
      const place = this.o.trunkPlacement
        ? await this.o.trunkPlacement()
        : { subnetId: this.o.primarySubnetId, groups: this.o.primaryGroups };
      const created = await this.o.ec2.send(
        new CreateNetworkInterfaceCommand({
          SubnetId: place.subnetId,
          Groups: place.groups,
          InterfaceType: 'trunk',
          Description: 'vpc-cni-ts trunk ENI',
          TagSpecifications: [
            { ResourceType: 'network-interface', Tags: [{ Key: TAG_TRUNK_OF, Value: this.o.instanceId }] },
          ],
        }),
      );
      const id = created.NetworkInterface!.NetworkInterfaceId!;
      try {
        await this.o.ec2.send(
          new AttachNetworkInterfaceCommand({
            NetworkInterfaceId: id,
            InstanceId: this.o.instanceId,
            DeviceIndex: slot,
          }),
        );
      } catch (e) {
        await this.o.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })).catch(() => {});
        throw e;
      }
      this.trunkRequested = true;
      this.o.logger.info({ trunk: id, device: slot }, 'trunk ENI attached');
    });
    return false;
  }

  private async describe(Filters: Array<{ Name: string; Values: string[] }>): Promise<NetworkInterface[]> {
    const out: NetworkInterface[] = [];
    let NextToken: string | undefined;
    do {
      const r = await this.o.ec2.send(new DescribeNetworkInterfacesCommand({ Filters, NextToken }));
      out.push(...(r.NetworkInterfaces ?? []));
      NextToken = r.NextToken;
    } while (NextToken);
    return out;
  }

  private async associations(filter: { trunk?: string; branch?: string }) {
    const Filters = [
      ...(filter.trunk
        ? [{ Name: 'trunk-interface-association.trunk-interface-id', Values: [filter.trunk] }]
        : []),
      ...(filter.branch
        ? [{ Name: 'trunk-interface-association.branch-interface-id', Values: [filter.branch] }]
        : []),
    ];
    const out = [];
    let NextToken: string | undefined;
    do {
      const r = await this.o.ec2.send(
        new DescribeTrunkInterfaceAssociationsCommand({ Filters, NextToken, MaxResults: 255 }),
      );
      out.push(...(r.InterfaceAssociations ?? []));
      NextToken = r.NextToken;
    } while (NextToken);
    return out;
  }

  private data(n: NetworkInterface, vlanId: number, associationId: string, subnetCidr: string): PodEniData {
    return {
      eniId: n.NetworkInterfaceId ?? '',
      ifAddress: n.MacAddress ?? '',
      privateIp: n.PrivateIpAddress ?? '',
      ipv6Addr: '',
      vlanId,
      subnetCidr,
      subnetV6Cidr: '',
      associationId,
    };
  }

  /** The branch ENI of a pod: an existing one (tagged with its UID) or a new one under the lowest free VLAN. */
  createFor(pod: PodRef, groups: string[]): Promise<PodEniData> {
    return this.lock.run(async () => {
      const trunk = this.trunk();
      if (!trunk) throw new Error('no trunk ENI is attached to this node yet');
      const subnetCidr = trunk.subnetCidr ?? '';
      const mine = await this.describe([{ Name: `tag:${TAG_POD_UID}`, Values: [pod.uid] }]);
      for (const n of mine) {
        const [a] = await this.associations({ branch: n.NetworkInterfaceId! });
        if (a?.VlanId) return this.data(n, a.VlanId, a.AssociationId ?? '', subnetCidr);
      }
      const used = new Set((await this.associations({ trunk: trunk.id })).map((a) => a.VlanId));
      const vlan = Array.from({ length: this.o.branchLimit }, (_, i) => i + 1).find((v) => !used.has(v));
      if (vlan === undefined)
        throw new Error(`all ${this.o.branchLimit} branch ENIs of this instance type are in use`);
      let created;
      try {
        created = await this.o.ec2.send(
          new CreateNetworkInterfaceCommand({
            SubnetId: trunk.subnetId,
            Groups: groups,
            InterfaceType: 'branch',
            Description: `vpc-cni-ts branch ENI of ${pod.namespace}/${pod.name}`,
            TagSpecifications: [
              {
                ResourceType: 'network-interface',
                Tags: [
                  { Key: TAG_BRANCH_OF, Value: this.o.instanceId },
                  { Key: TAG_POD, Value: `${pod.namespace}/${pod.name}` },
                  { Key: TAG_POD_UID, Value: pod.uid },
                ],
              },
            ],
          }),
        );
      } catch (e) {
        if (codeOf(e).startsWith('InvalidSecurityGroupID') || codeOf(e).startsWith('InvalidGroup'))
          throw new BranchGroupError(`${codeOf(e)}: ${(e as Error).message}`);
        throw e;
      }
      const eni = created.NetworkInterface!;
      try {
        const r = await this.o.ec2.send(
          new AssociateTrunkInterfaceCommand({
            BranchInterfaceId: eni.NetworkInterfaceId!,
            TrunkInterfaceId: trunk.id,
            VlanId: vlan,
          }),
        );
        this.o.logger.info(
          { pod: `${pod.namespace}/${pod.name}`, eni: eni.NetworkInterfaceId, vlan },
          'branch ENI created',
        );
        return this.data(eni, vlan, r.InterfaceAssociation?.AssociationId ?? '', subnetCidr);
      } catch (e) {
        await this.o.ec2
          .send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId! }))
          .catch(() => {});
        throw e;
      }
    });
  }

  /**
   * Disassociates and deletes a branch ENI this node created. 'gone': it no longer exists; 'not-ours': another
   * creator's (e.g. the VPC resource controller's), left alone.
   */
  delete(eniId: string): Promise<'deleted' | 'gone' | 'not-ours'> {
    return this.lock.run(async () => {
      const [n] = await this.describe([{ Name: 'network-interface-id', Values: [eniId] }]).catch(
        (e: unknown) => {
          if (codeOf(e) === 'InvalidNetworkInterfaceID.NotFound') return [];
          throw e;
        },
      );
      if (!n) return 'gone';
      if (tagOf(n, TAG_BRANCH_OF) !== this.o.instanceId) return 'not-ours';
      for (const a of await this.associations({ branch: eniId }))
        await this.o.ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: a.AssociationId }));
      await this.o.ec2
        .send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId }))
        .catch((e: unknown) => {
          if (codeOf(e) !== 'InvalidNetworkInterfaceID.NotFound') throw e;
        });
      this.o.logger.info({ eni: eniId }, 'branch ENI deleted');
      return 'deleted';
    });
  }

  /** Deletes this node's branch ENIs whose pod is gone (after a restart, or a DEL that never came). */
  async sweep(podIsLive: (ref: PodRef, eniId: string) => Promise<boolean>): Promise<string[]> {
    const deleted: string[] = [];
    for (const n of await this.describe([{ Name: `tag:${TAG_BRANCH_OF}`, Values: [this.o.instanceId] }])) {
      const [namespace = '', name = ''] = (tagOf(n, TAG_POD) ?? '').split('/');
      const ref = { namespace, name, uid: tagOf(n, TAG_POD_UID) ?? '' };
      if (await podIsLive(ref, n.NetworkInterfaceId!)) continue;
      await this.delete(n.NetworkInterfaceId!);
      deleted.push(n.NetworkInterfaceId!);
    }
    return deleted;
  }
}
