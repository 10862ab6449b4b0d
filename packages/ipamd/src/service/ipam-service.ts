// The CNI backend (docs/architecture.md#addnetwork-and-delnetwork): AddNetwork / DelNetwork / GC over the
// datastore, each answered only after the change is durable in the checkpoint. When no address is free,
// AddNetwork asks the supply to grow and waits up to `addWaitMs` before failing with the reason.
import {
  type AddNetworkReply,
  type AddNetworkRequest,
  type DelNetworkReply,
  type DelNetworkRequest,
  type GarbageCollectReply,
  type GarbageCollectRequest,
  GrpcStatus,
  type IPAllocationMetadata,
  RpcError,
} from '@vpc-cni/shared/rpc';
import { clip } from '@vpc-cni/shared/describe';
import type { Logger } from '@vpc-cni/shared/logging';
import { multiNicRefusal } from '../cards/index.js';
import type { Checkpoint } from '../persistence/index.js';
import {
  type Assigned,
  CardAssignError,
  type CardAssigned,
  type CardReleased,
  CardStores,
  type Datastore,
  DatastoreError,
  type IpamKey,
  type Released,
  UNKNOWN_POD,
} from '../store/index.js';
import type { BranchPods } from './branch-pods.js';
import type { ManagedCard, MultiNicOptions } from './multi-nic.js';
import { type AddressSupply, CapacityError } from './supply.js';

export interface IpamServiceOptions {
  version: string;
  addWaitMs: number;
  networkPolicyMode: string;
  /** VPC CIDRs for the reply (already including the SNAT exclusions when external SNAT is off). */
  vpcCidrs: () => { v4: string[]; v6: string[] };
  externalSnat: boolean;
  logger: Logger;
  /** Observers for metrics. */
  onAdd?: (outcome: 'ok' | 'error', ms: number) => void;
  onDel?: (reason: string, outcome: 'ok' | 'unknown' | 'error', ms: number) => void;
  onNoAvailable?: () => void;
  /** Security groups for pods (ENABLE_POD_ENI): branch-ENI pods are answered from their annotation. */
  branch?: BranchPods;
  /** Multi-NIC pods (ENABLE_MULTI_NIC); absent = refused as with ENABLE_MULTI_NIC=false. */
  multiNic?: MultiNicOptions;
}

const metadataOf = (a: Assigned): IPAllocationMetadata => ({
  IPv4Addr: a.family === 4 ? a.address : '',
  IPv6Addr: a.family === 6 ? a.address : '',
  DeviceNumber: a.deviceNumber,
  RouteTableId: a.routeTableId,
});

/** Request strings come from the peer: logged cut to this length, so one call cannot write megabytes of log. */
const LOG_TEXT = 256;
const logKey = (k: IpamKey) => ({
  networkName: clip(k.networkName, LOG_TEXT),
  containerID: clip(k.containerID, LOG_TEXT),
  ifName: clip(k.ifName, LOG_TEXT),
});

export class IpamService {
  private versionWarned = false;

  constructor(
    private readonly ds: Datastore,
    private readonly checkpoint: Checkpoint,
    private readonly supply: AddressSupply,
    private readonly o: IpamServiceOptions,
  ) {}

  private checkVersion(client: string): void {
    // Decision (spec "Decisions" 2): any client version is accepted; a mismatch is logged once.
    if (client !== this.o.version && !this.versionWarned) {
      this.versionWarned = true;
      this.o.logger.warn(
        { client: clip(client, LOG_TEXT), server: this.o.version },
        'CNI plugin version differs from ipamd',
      );
    }
  }

  async addNetwork(req: AddNetworkRequest): Promise<AddNetworkReply> {
    const t0 = performance.now();
    try {
      const reply = await this.add(req);
      this.o.onAdd?.('ok', performance.now() - t0);
      return reply;
    } catch (e) {
      this.o.onAdd?.('error', performance.now() - t0);
      throw e;
    }
  }

  private async add(req: AddNetworkRequest): Promise<AddNetworkReply> {
    this.checkVersion(req.ClientVersion);
    if (!req.ContainerID || !req.IfName || !req.NetworkName)
      throw new RpcError(
        GrpcStatus.INVALID_ARGUMENT,
        'AddNetwork needs ContainerID, IfName and NetworkName',
        'AddNetwork',
      );
    if (this.o.branch) {
      const branch = await this.o.branch.add(req);
      if (branch) return branch;
    }
    const key: IpamKey = { networkName: req.NetworkName, containerID: req.ContainerID, ifName: req.IfName };
    const metadata = {
      k8sPodNamespace: req.K8S_POD_NAMESPACE,
      k8sPodName: req.K8S_POD_NAME,
      interfacesCount: 1,
    };
    if (req.RequiresMultiNICAttachment) return this.addMulti(key, metadata);
    const existing = this.ds.lookup(key);
    if (existing) {
      await this.checkpoint.persist(); // the first ADD's write may still be in flight
      return this.reply(existing);
    }
    const deadline = performance.now() + this.o.addWaitMs;
    for (;;) {
      let assigned: Assigned;
      try {
        assigned = this.ds.assign(key, metadata);
      } catch (e) {
        if (!(e instanceof DatastoreError) || e.kind !== 'no-available') throw this.internal(e);
        this.o.onNoAvailable?.();
        await this.waitForGrowth(deadline, this.supply, this.ds);
        continue;
      }
      try {
        await this.checkpoint.persist();
      } catch (e) {
        this.ds.undoAssign(key);
        throw new RpcError(
          GrpcStatus.UNAVAILABLE,
          `checkpoint write failed, address not assigned: ${String(e)}`,
          'AddNetwork',
        );
      }
      this.o.logger.info({ key: logKey(key), address: assigned.address, eni: assigned.eniId }, 'assigned');
      return this.reply(assigned);
    }
  }

  /** The card-0 entry and every other managed card, ascending. */
  private allCards(): ManagedCard[] {
    return [
      { card: 0, ds: this.ds, checkpoint: this.checkpoint, supply: this.supply },
      ...(this.o.multiNic?.cards() ?? []),
    ];
  }

  /** One address per managed card, all or nothing (docs/architecture.md#addnetwork-and-delnetwork). */
  private async addMulti(
    key: IpamKey,
    metadata: { k8sPodNamespace: string; k8sPodName: string },
  ): Promise<AddNetworkReply> {
    const why = this.o.multiNic
      ? this.o.multiNic.refusal()
      : multiNicRefusal({ enabled: false, instanceType: '', typeCards: 0, managedCards: [0] });
    if (why) throw new RpcError(GrpcStatus.FAILED_PRECONDITION, why, 'AddNetwork');
    const cards = this.allCards();
    const stores = new CardStores(new Map(cards.map((c) => [c.card, c.ds])));
    const persistAll = () => Promise.all(cards.map((c) => c.checkpoint.persist()));
    const existing = stores.lookupAll(key);
    if (existing.length === cards.length) {
      await persistAll();
      return this.replyMulti(existing);
    }
    const deadline = performance.now() + this.o.addWaitMs;
    for (;;) {
      let assigned: CardAssigned[];
      try {
        assigned = stores.assignAll(key, metadata);
      } catch (e) {
        if (!(e instanceof CardAssignError) || e.kind !== 'no-available') throw this.internal(e);
        this.o.onNoAvailable?.();
        const short = cards.find((c) => c.card === e.card)!;
        await this.waitForGrowth(deadline, short.supply, short.ds, `network card ${e.card}: `);
        continue;
      }
      try {
        await persistAll();
      } catch (e) {
        stores.undoAssignAll(key);
        await persistAll().catch(() => undefined); // best effort: the next write drops them anyway
        throw new RpcError(
          GrpcStatus.UNAVAILABLE,
          `checkpoint write failed, addresses not assigned: ${String(e)}`,
          'AddNetwork',
        );
      }
      this.o.logger.info(
        {
          key: logKey(key),
          addresses: assigned.map((a) => ({ card: a.card, address: a.address, eni: a.eniId })),
        },
        'assigned (multi-NIC)',
      );
      return this.replyMulti(assigned);
    }
  }

  private replyMulti(list: readonly Assigned[]): AddNetworkReply {
    return {
      ...this.baseReply(list[0]!.family),
      Success: true,
      IPAllocationMetadata: list.map(metadataOf),
    };
  }

  private async waitForGrowth(
    deadline: number,
    supply: AddressSupply,
    ds: Datastore,
    where = '',
  ): Promise<void> {
    const left = deadline - performance.now();
    if (left <= 0)
      throw new RpcError(
        GrpcStatus.RESOURCE_EXHAUSTED,
        `${where}no free address after waiting ${this.o.addWaitMs} ms for the pool to grow`,
        'AddNetwork',
      );
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        supply.grow(1),
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new RpcError(
                  GrpcStatus.RESOURCE_EXHAUSTED,
                  `${where}no free address: the pool did not grow within ${this.o.addWaitMs} ms (ENI attach or EC2 slow?)`,
                  'AddNetwork',
                ),
              ),
            left,
          );
        }),
      ]);
    } catch (e) {
      if (e instanceof CapacityError) {
        // The pool cannot grow, but an address released moments ago will be free once its cooldown
        // (IP_COOLDOWN_PERIOD) ends: wait for it within the deadline instead of failing the pod.
        const cooled = ds.msUntilCooled();
        if (cooled !== undefined && performance.now() + cooled < deadline) {
          await new Promise((r) => setTimeout(r, cooled + 1));
          return;
        }
        throw new RpcError(
          GrpcStatus.RESOURCE_EXHAUSTED,
          `${where}no free address: ${e.message}`,
          'AddNetwork',
        );
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Every field of a successful AddNetwork reply except the addresses
   * (docs/architecture.md#addnetwork-and-delnetwork).
   */
  baseReply(family: 4 | 6): Omit<AddNetworkReply, 'Success' | 'IPAllocationMetadata'> {
    const cidrs = this.o.vpcCidrs();
    return {
      UseExternalSNAT: family === 4 ? this.o.externalSnat : false,
      VPCv4CIDRs: family === 4 ? cidrs.v4 : [],
      VPCv6CIDRs: family === 6 ? cidrs.v6 : [],
      PodVlanId: 0,
      PodENIMAC: '',
      PodENISubnetGW: '',
      ParentIfIndex: 0,
      NetworkPolicyMode: this.o.networkPolicyMode,
    };
  }

  private reply(a: Assigned): AddNetworkReply {
    return { ...this.baseReply(a.family), Success: true, IPAllocationMetadata: [metadataOf(a)] };
  }

  async delNetwork(req: DelNetworkRequest): Promise<DelNetworkReply> {
    const t0 = performance.now();
    this.checkVersion(req.ClientVersion);
    const key: IpamKey = { networkName: req.NetworkName, containerID: req.ContainerID, ifName: req.IfName };
    const cards = this.allCards();
    // Every card's address of the key (a multi-NIC pod has one on each; an ordinary pod only on card 0).
    const released: CardReleased[] =
      cards.length > 1
        ? new CardStores(new Map(cards.map((c) => [c.card, c.ds]))).unassignAll(key)
        : this.releaseOnCard0(key);
    if (released.length === 0) {
      const branch = await this.o.branch?.del(req);
      if (branch) {
        this.o.onDel?.(req.Reason, 'ok', performance.now() - t0);
        return branch;
      }
      this.o.onDel?.(req.Reason, 'unknown', performance.now() - t0);
      // Upstream's wire form for "already released": status UNKNOWN with this exact text (the plugin relies on it).
      throw new RpcError(GrpcStatus.UNKNOWN, UNKNOWN_POD, 'DelNetwork');
    }
    // One card (the usual node): no filter, no Promise.all per call.
    const touched = cards.length === 1 ? cards : cards.filter((c) => released.some((r) => r.card === c.card));
    try {
      if (touched.length === 1) await touched[0]!.checkpoint.persist();
      else await Promise.all(touched.map((c) => c.checkpoint.persist()));
    } catch (e) {
      for (const r of released) touched.find((c) => c.card === r.card)!.ds.undoUnassign(r);
      this.o.onDel?.(req.Reason, 'error', performance.now() - t0);
      throw new RpcError(
        GrpcStatus.UNAVAILABLE,
        `checkpoint write failed, address not released: ${String(e)}`,
        'DelNetwork',
      );
    }
    this.o.logger.info(
      {
        key: logKey(key),
        address: released.length === 1 ? released[0]!.address : released.map((r) => r.address),
        reason: clip(req.Reason, LOG_TEXT),
      },
      'released',
    );
    this.o.onDel?.(req.Reason, 'ok', performance.now() - t0);
    return {
      Success: true,
      IPAllocationMetadata: released.filter((r) => r.eniId).map(metadataOf),
      PodVlanId: 0,
      NetworkPolicyMode: this.o.networkPolicyMode,
    };
  }

  private releaseOnCard0(key: IpamKey): CardReleased[] {
    const r: Released | undefined = this.ds.unassign(key);
    return r ? [{ ...r, card: 0 }] : [];
  }

  /** CNI GC: release every allocation of the network whose attachment the runtime no longer knows. */
  async gc(req: GarbageCollectRequest): Promise<GarbageCollectReply> {
    const valid = new Set(req.ValidAttachments.map((a) => `${a.ContainerID}\u0000${a.IfName}`));
    const minAgeNs = BigInt(req.MinAgeSeconds) * 1_000_000_000n;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const stale = this.ds
      .allocations()
      .map((e) => e.allocation)
      .filter(
        (a) =>
          a.key.networkName === req.NetworkName &&
          !valid.has(`${a.key.containerID}\u0000${a.key.ifName}`) &&
          nowNs - a.assignedAtNs >= minAgeNs,
      );
    const others = this.o.multiNic?.cards() ?? [];
    const released = stale.flatMap((a) => {
      const r = this.ds.unassign(a.key);
      for (const c of others) c.ds.unassign(a.key); // a multi-NIC pod's addresses on the other cards
      return r ? [r] : [];
    });
    if (released.length > 0)
      await Promise.all([this.checkpoint, ...others.map((c) => c.checkpoint)].map((c) => c.persist()));
    this.o.logger.info(
      { network: clip(req.NetworkName, LOG_TEXT), released: released.map((r) => r.address) },
      'GC',
    );
    return {
      Success: true,
      Released: released.map((r) => ({
        ContainerID: r.key.containerID,
        IfName: r.key.ifName,
        IPv4Addr: r.family === 4 ? r.address : '',
        IPv6Addr: r.family === 6 ? r.address : '',
      })),
    };
  }

  private internal(e: unknown): RpcError {
    return e instanceof RpcError
      ? e
      : new RpcError(GrpcStatus.INTERNAL, e instanceof Error ? e.message : String(e), 'AddNetwork');
  }
}
