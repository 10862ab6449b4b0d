// Security groups for pods, compatible path (docs/architecture.md#addnetwork-and-delnetwork): a pod whose
// first container limits the vpc.amazonaws.com/pod-eni resource gets the branch ENI the resource controller
// attached for it (read from the pod's annotation) instead of a pool address; the datastore is not touched.
// Refusals are `Success=false` replies, as upstream: kubelet retries the ADD, typically once the controller
// has annotated the pod.
import { clip } from '@vpc-cni/shared/describe';
import {
  type AddNetworkReply,
  type AddNetworkRequest,
  type DelNetworkReply,
  type DelNetworkRequest,
  GrpcStatus,
  RpcError,
} from '@vpc-cni/shared/rpc';
import type { Logger } from '@vpc-cni/shared/logging';
import {
  parsePodEniAnnotation,
  POD_ENI_ANNOTATION,
  type PodEniData,
  type PodLookup,
  type PodView,
} from '../k8s/pod-eni.js';
import type { SgpMatch } from '../k8s/sgp.js';

/**
 * Self-managed branch ENIs (VPC_CNI_MANAGE_BRANCH_ENIS, docs/architecture.md#decisions, 12): ipamd plays the
 * resource controller.
 * A pod is a branch pod when a SecurityGroupPolicy matches it; ipamd creates its branch ENI and writes the same
 * annotation the controller would.
 */
export interface SelfManagedBranches {
  match(namespace: string, pod: PodView): Promise<SgpMatch>;
  /** Attaches a trunk if there is none; true when the pool has one. */
  ensureTrunk(): Promise<boolean>;
  create(namespace: string, name: string, pod: PodView, groups: string[]): Promise<PodEniData>;
  /** Writes or (null) removes the pod-eni annotation. */
  annotate(namespace: string, name: string, value: string | null): Promise<void>;
  warn(namespace: string, name: string, reason: string, message: string): Promise<void>;
  /** Deletes the pod's branch ENI when this node created it; false when it belongs to someone else. */
  release(eniId: string): Promise<boolean>;
  /** Whether an error is EC2 refusing the policy's security groups. */
  isGroupError(e: unknown): boolean;
}

export interface BranchPodsOptions {
  lookup: PodLookup;
  ipv6: boolean;
  /** Host link index of the trunk ENI; undefined = no trunk ENI attached (yet). */
  trunkLinkIndex: () => Promise<number | undefined>;
  /** Fields every successful reply carries (VPC CIDRs, SNAT, policy mode), as for pool addresses. */
  baseReply: (family: 4 | 6) => Omit<AddNetworkReply, 'Success' | 'IPAllocationMetadata'>;
  networkPolicyMode: string;
  logger: Logger;
  selfManaged?: SelfManagedBranches;
}

/**
 * IPv4: subnet network address + 1; IPv6: the fixed fe80:ec2::1
 * (docs/architecture.md#addnetwork-and-delnetwork).
 */
export function branchGateway(cidr: string, ipv6: boolean): string | undefined {
  if (ipv6) return /^[0-9a-f:]+\/\d+$/i.test(cidr) ? 'fe80:ec2::1' : undefined;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (bits > 30 || octets.some((o) => o > 255)) return undefined;
  const ip = octets.reduce((a, o) => a * 256 + o, 0);
  const network = ip - (ip % 2 ** (32 - bits));
  const gw = network + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(gw / 2 ** s) % 256).join('.');
}

export class BranchPods {
  constructor(private readonly o: BranchPodsOptions) {}

  private refuse(req: AddNetworkRequest, why: string): AddNetworkReply {
    this.o.logger.warn(
      {
        pod: clip(`${req.K8S_POD_NAMESPACE}/${req.K8S_POD_NAME}`, 256),
        containerId: clip(req.ContainerID, 256),
      },
      `branch ENI pod not served: ${why}`,
    );
    return {
      Success: false,
      IPAllocationMetadata: [],
      UseExternalSNAT: false,
      VPCv4CIDRs: [],
      VPCv6CIDRs: [],
      PodVlanId: 0,
      PodENIMAC: '',
      PodENISubnetGW: '',
      ParentIfIndex: 0,
      NetworkPolicyMode: '',
    };
  }

  private async mayBeBranchPod(namespace: string, pod: PodView): Promise<boolean> {
    if (pod.podEniAnnotation !== undefined) return true;
    const sm = this.o.selfManaged;
    if (!sm) return pod.wantsBranchEni;
    try {
      return (await sm.match(namespace, pod)).groups.length > 0;
    } catch {
      return true; // decided (and reported) on the fresh read
    }
  }

  /** The reply for a branch-ENI pod, or undefined when the pod takes a pool address. */
  async add(req: AddNetworkRequest): Promise<AddNetworkReply | undefined> {
    let pod;
    try {
      pod = await this.o.lookup.pod(req.K8S_POD_NAMESPACE, req.K8S_POD_NAME);
    } catch (e) {
      return this.refuse(req, `cannot read the pod from the API server: ${String(e)}`);
    }
    if (!pod) return this.refuse(req, 'the pod does not exist in the API server');
    const sm = this.o.selfManaged;
    // A cached view may only decide that a pod is ordinary: one that may be a branch pod is read again from the
    // API server before anything is done for it (the cache can lag the annotation by a moment).
    if (pod.cached && (await this.mayBeBranchPod(req.K8S_POD_NAMESPACE, pod))) {
      try {
        pod = await this.o.lookup.pod(req.K8S_POD_NAMESPACE, req.K8S_POD_NAME, { fresh: true });
      } catch (e) {
        return this.refuse(req, `cannot read the pod from the API server: ${String(e)}`);
      }
      if (!pod) return this.refuse(req, 'the pod does not exist in the API server');
    }
    let annotation = pod.podEniAnnotation;
    let groups: string[] = [];
    if (sm && annotation === undefined) {
      try {
        groups = (await sm.match(req.K8S_POD_NAMESPACE, pod)).groups;
      } catch (e) {
        return this.refuse(req, `cannot read SecurityGroupPolicies: ${String(e)}`);
      }
      if (groups.length === 0) return undefined;
    } else if (!sm && !pod.wantsBranchEni) return undefined;
    if (req.RequiresMultiNICAttachment)
      this.o.logger.info({ pod: req.K8S_POD_NAME }, 'multi-NIC ignored: a branch ENI pod gets one interface');
    if (sm && !(await sm.ensureTrunk().catch(() => false)))
      return this.refuse(req, 'the trunk ENI of this node is being attached');
    const parent = await this.o.trunkLinkIndex();
    if (parent === undefined) return this.refuse(req, 'no trunk ENI is attached to this node');
    if (sm && annotation === undefined) {
      annotation = await this.createBranch(sm, req, pod, groups);
      if (annotation === undefined)
        return this.refuse(req, 'the branch ENI could not be created (see the log)');
    }
    if (annotation === undefined)
      return this.refuse(
        req,
        `annotation ${POD_ENI_ANNOTATION} missing (the resource controller has not set it yet)`,
      );
    let data: PodEniData[];
    try {
      data = parsePodEniAnnotation(annotation);
    } catch (e) {
      return this.refuse(req, (e as Error).message);
    }
    const eni = data[0];
    if (!eni) return this.refuse(req, `annotation ${POD_ENI_ANNOTATION} is an empty list`);
    const family = this.o.ipv6 ? 6 : 4;
    const address = family === 6 ? eni.ipv6Addr : eni.privateIp;
    if (!address || !eni.ifAddress || eni.vlanId === 0)
      return this.refuse(req, `annotation ${POD_ENI_ANNOTATION} lacks the address, MAC or VLAN id`);
    const gateway = branchGateway(family === 6 ? eni.subnetV6Cidr : eni.subnetCidr, family === 6);
    if (!gateway) return this.refuse(req, `annotation ${POD_ENI_ANNOTATION} has no usable subnet CIDR`);
    this.o.logger.info(
      {
        pod: clip(`${req.K8S_POD_NAMESPACE}/${req.K8S_POD_NAME}`, 256),
        eni: eni.eniId,
        vlan: eni.vlanId,
        address,
      },
      'branch ENI pod',
    );
    return {
      ...this.o.baseReply(family),
      Success: true,
      IPAllocationMetadata: [
        {
          IPv4Addr: family === 4 ? address : '',
          IPv6Addr: family === 6 ? address : '',
          DeviceNumber: -1,
          RouteTableId: 0,
        },
      ],
      PodVlanId: eni.vlanId,
      PodENIMAC: eni.ifAddress,
      PodENISubnetGW: gateway,
      ParentIfIndex: parent,
    };
  }

  /**
   * Self-managed: the pod's branch ENI, recorded in its annotation. A security group EC2 does not know fails the
   * ADD with that cause (and a Warning event on the pod); other failures are refusals kubelet retries.
   */
  private async createBranch(
    sm: SelfManagedBranches,
    req: AddNetworkRequest,
    pod: PodView,
    groups: string[],
  ): Promise<string | undefined> {
    const ns = req.K8S_POD_NAMESPACE;
    const name = req.K8S_POD_NAME;
    let eni: PodEniData;
    try {
      eni = await sm.create(ns, name, pod, groups);
    } catch (e) {
      if (sm.isGroupError(e)) {
        const msg = `security groups ${groups.join(', ')} of the SecurityGroupPolicy for pod ${ns}/${name}: ${(e as Error).message}; fix the policy's groupIds`;
        await sm.warn(ns, name, 'SecurityGroupNotFound', msg).catch(() => {});
        throw new RpcError(GrpcStatus.FAILED_PRECONDITION, msg, 'AddNetwork');
      }
      this.o.logger.warn({ pod: `${ns}/${name}`, err: e }, 'branch ENI creation failed');
      return undefined;
    }
    const value = JSON.stringify([
      {
        eniId: eni.eniId,
        ifAddress: eni.ifAddress,
        privateIp: eni.privateIp,
        ipv6Addr: eni.ipv6Addr,
        vlanId: eni.vlanId,
        subnetCidr: eni.subnetCidr,
        subnetV6Cidr: eni.subnetV6Cidr,
        associationID: eni.associationId,
      },
    ]);
    try {
      await sm.annotate(ns, name, value);
    } catch (e) {
      this.o.logger.warn(
        { pod: `${ns}/${name}`, err: e },
        'could not annotate the pod; its branch ENI is found by tag on the retry',
      );
    }
    return value;
  }

  /**
   * DEL of a key the datastore does not know: a branch pod's VLAN and address come from its annotation so the
   * plugin can tear them down. undefined = not a branch pod (the caller answers "unknown pod").
   */
  async del(req: DelNetworkRequest): Promise<DelNetworkReply | undefined> {
    let pod;
    try {
      // Fresh: the annotation and UID decide what is torn down (only keys the datastore does not know get here).
      pod = await this.o.lookup.pod(req.K8S_POD_NAMESPACE, req.K8S_POD_NAME, { fresh: true });
    } catch (e) {
      throw new RpcError(
        GrpcStatus.UNKNOWN,
        `error while trying to retrieve pod info: ${String(e)}`,
        'DelNetwork',
      );
    }
    // Upstream means "pod gone: nothing left to do" here (its error wrapping loses that); we do it.
    if (!pod)
      return {
        Success: true,
        IPAllocationMetadata: [],
        PodVlanId: 0,
        NetworkPolicyMode: this.o.networkPolicyMode,
      };
    // Compared only when the runtime sent a UID: older runtimes send none.
    if (req.K8S_POD_UID && pod.uid && req.K8S_POD_UID !== pod.uid)
      throw new RpcError(
        GrpcStatus.UNKNOWN,
        `pod UID mismatch: got ${clip(req.K8S_POD_UID, 64)}, expected ${pod.uid}`,
        'DelNetwork',
      );
    if (pod.podEniAnnotation === undefined) return undefined;
    let data: PodEniData[];
    try {
      data = parsePodEniAnnotation(pod.podEniAnnotation);
    } catch (e) {
      throw new RpcError(GrpcStatus.UNKNOWN, (e as Error).message, 'DelNetwork');
    }
    const eni = data[0];
    if (!eni) throw new RpcError(GrpcStatus.UNKNOWN, 'parsed PodENIData is empty', 'DelNetwork');
    const sm = this.o.selfManaged;
    if (sm) {
      // Ours to clean up: the branch ENI goes, and the annotation with it (a new sandbox gets a new ENI). An
      // ENI someone else created (the resource controller) and its annotation are left to them.
      const ours = await sm.release(eni.eniId).catch((e: unknown) => {
        this.o.logger.warn({ eni: eni.eniId, err: e }, 'branch ENI not deleted; the sweep retries');
        return false;
      });
      if (ours) await sm.annotate(req.K8S_POD_NAMESPACE, req.K8S_POD_NAME, null).catch(() => {});
    }
    // Choice: the address in its own family's field (upstream always fills IPv4Addr, empty in IPv6 mode).
    return {
      Success: true,
      IPAllocationMetadata: [
        {
          IPv4Addr: this.o.ipv6 ? '' : eni.privateIp,
          IPv6Addr: this.o.ipv6 ? eni.ipv6Addr : '',
          DeviceNumber: -1,
          RouteTableId: 0,
        },
      ],
      PodVlanId: eni.vlanId,
      NetworkPolicyMode: this.o.networkPolicyMode,
    };
  }
}
