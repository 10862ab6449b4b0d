// ENABLE_POD_ENI wiring (docs/architecture.md#security-groups-for-pods): branch-ENI pods answered from their
// annotation, the trunk's host link found by MAC, and the SecurityGroupsForPods feature signalled on this
// node's CNINode until a trunk is attached.
import type { Logger } from '@vpc-cni/shared/logging';
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { AddNetworkReply } from '@vpc-cni/shared/rpc';
import {
  addCniNodeFeature,
  K8sPodCache,
  K8sSgpSource,
  parsePodEniAnnotation,
  kubeApis,
  podWarning,
  setPodEniAnnotation,
  type KubeApis,
  type PodLookup,
} from '../k8s/index.js';
import { BranchEnis, BranchGroupError } from '../eni/branch-enis.js';
import { BranchPods, type SelfManagedBranches } from '../service/branch-pods.js';
import type { Datastore } from '../store/index.js';
import type { BranchContext } from './ec2-source.js';

const LINK_TRIES = 5;
const LINK_RETRY_MS = 100;

export interface PodEniSupport {
  branch: BranchPods;
  /** Adds SecurityGroupsForPods to the CNINode while no trunk is known; true once a trunk ENI is attached. */
  signal(): Promise<boolean>;
  /** Self-managed only: attach the trunk if missing, delete branch ENIs whose pod is gone. */
  maintain?: () => Promise<void>;
  /** Stops the watches. */
  stop(): Promise<void>;
}

export interface PodEniDeps {
  cfg: IpamdConfig;
  env: Readonly<Record<string, string | undefined>>;
  ds: Datastore;
  eniMac: (id: string) => string | undefined;
  baseReply: (family: 4 | 6) => Omit<AddNetworkReply, 'Success' | 'IPAllocationMetadata'>;
  logger: Logger;
  /** Tests: pods from somewhere else than the API server. */
  lookup?: PodLookup;
  /** Failures counted in awscni_pod_eni_error_count{fn} (upstream's function names). */
  onError?: (fn: 'nodeInit' | 'tryEnableSecurityGroupsForPods') => void;
  /** Tests: how soon a failed watch is retried (default 1 s, doubling to 30 s). */
  watchRetryMs?: { first: number; max: number };
  /** Self-managed branch ENIs (VPC_CNI_MANAGE_BRANCH_ENIS): the EC2 side; absent in static/IPv6 modes. */
  branchContext?: BranchContext;
  instanceId?: string;
  primarySubnetId?: string;
  primaryGroups?: string[];
}

export async function podEniSupport(d: PodEniDeps): Promise<PodEniSupport> {
  const node = d.cfg.MY_NODE_NAME;
  if (!node) throw new Error('ENABLE_POD_ENI needs MY_NODE_NAME (the downward API node name)');
  const apis = kubeApis(d.env, d.cfg.CLUSTER_ENDPOINT || undefined);
  const { Netlink } = await import('@vpc-cni/shared/netlink');

  const trunkId = () => d.ds.eniList().find((e) => e.isTrunk)?.id;
  /** The trunk's link in this (host) netns: IMDS/EC2 know its MAC, the kernel may take a moment to show it. */
  async function trunkLinkIndex(): Promise<number | undefined> {
    const id = trunkId();
    const mac = id ? d.eniMac(id)?.toLowerCase() : undefined;
    if (!mac) return undefined;
    for (let i = 0; i < LINK_TRIES; i++) {
      const nl = Netlink.open();
      try {
        const link = nl.link.list().find((l) => l.mac?.toLowerCase() === mac);
        if (link) return link.index;
      } finally {
        nl.close();
      }
      await new Promise((r) => setTimeout(r, LINK_RETRY_MS));
    }
    d.logger.warn({ trunk: id, mac }, 'trunk ENI has no host interface with its MAC');
    return undefined;
  }

  // This node's pods from a watch (a GET only for a pod the cache does not have yet); started in the background
  // so that an unreachable API server does not hold up ipamd (reads then go to the API and fail there).
  let cache: K8sPodCache | undefined;
  const lookup = d.lookup ?? (cache = new K8sPodCache(apis, node, d.logger, d.watchRetryMs));
  void cache?.start().catch((e: unknown) => d.logger.warn({ err: e }, 'pod watch did not start'));
  const managed = d.cfg.VPC_CNI_MANAGE_BRANCH_ENIS ? selfManaged(d, apis, lookup, cache) : undefined;
  const branch = new BranchPods({
    ...(managed ? { selfManaged: managed.branches } : {}),
    lookup,
    ipv6: d.cfg.ENABLE_IPv6,
    trunkLinkIndex,
    baseReply: d.baseReply,
    networkPolicyMode: d.env['NETWORK_POLICY_ENFORCING_MODE'] ?? '',
    logger: d.logger,
  });

  let reportedMissing = false;
  async function signal(): Promise<boolean> {
    if (trunkId()) return true;
    try {
      const outcome = await addCniNodeFeature(apis, node, { name: 'SecurityGroupsForPods' });
      if (outcome === 'added') d.logger.info({ node }, 'CNINode: SecurityGroupsForPods feature added');
      if (outcome === 'no-cninode' && !reportedMissing) {
        reportedMissing = true;
        d.logger.warn(
          { node },
          'CNINode for this node does not exist (yet): the VPC resource controller creates it; will retry',
        );
      }
    } catch (e) {
      d.onError?.('tryEnableSecurityGroupsForPods');
      d.logger.warn({ node, err: e }, 'CNINode feature update failed; will retry');
    }
    return false;
  }
  const stop = async () => {
    await Promise.all([cache?.stop(), managed?.stop()]);
  };
  return { branch, signal, stop, ...(managed ? { maintain: managed.maintain } : {}) };
}

function selfManaged(
  d: PodEniDeps,
  apis: KubeApis,
  lookup: PodLookup,
  pods: K8sPodCache | undefined,
): { branches: SelfManagedBranches; maintain: () => Promise<void>; stop: () => Promise<void> } {
  const ctx = d.branchContext;
  if (!ctx || !d.instanceId || !d.primarySubnetId)
    throw new Error('VPC_CNI_MANAGE_BRANCH_ENIS needs EC2 mode with IPv4 (ENIs from IMDS/EC2)');
  const enis = new BranchEnis({
    ec2: ctx.ec2,
    instanceId: d.instanceId,
    branchLimit: ctx.branchLimit,
    maxEnis: ctx.maxEnis,
    primarySubnetId: d.primarySubnetId,
    primaryGroups: d.primaryGroups ?? [],
    ...(ctx.trunkTarget
      ? {
          trunkPlacement: async () => {
            const t = await ctx.trunkTarget!();
            const subnet = t.subnets[0];
            if (!subnet) throw new Error('custom networking names no subnet for the trunk ENI');
            return { subnetId: subnet.id, groups: t.securityGroups };
          },
        }
      : {}),
    ds: d.ds,
    poolLock: ctx.poolLock,
    logger: d.logger,
  });
  const sgp = new K8sSgpSource(apis, {
    logger: d.logger,
    ...(d.watchRetryMs ? { retryMs: d.watchRetryMs } : {}),
  });
  void sgp.start().catch((e: unknown) => d.logger.warn({ err: e }, 'policy watch did not start'));
  // A pod deleted from the API takes its branch ENI with it, DEL or not (a no-op when DEL already did it; an
  // ENI the resource controller made is not ours and stays).
  pods?.onDelete((namespace, name, pod) => {
    let eniId: string | undefined;
    try {
      eniId = pod.podEniAnnotation ? parsePodEniAnnotation(pod.podEniAnnotation)[0]?.eniId : undefined;
    } catch {
      return;
    }
    if (!eniId) return;
    enis.delete(eniId).then(
      (r) => {
        if (r === 'deleted')
          d.logger.info({ pod: `${namespace}/${name}`, eni: eniId }, 'branch ENI of a deleted pod removed');
      },
      (e: unknown) =>
        d.logger.warn({ eni: eniId, err: e }, 'branch ENI of a deleted pod not removed; the sweep retries'),
    );
  });
  const branches: SelfManagedBranches = {
    match: (namespace, pod) =>
      sgp.match({ namespace, labels: pod.labels, serviceAccountName: pod.serviceAccountName }),
    ensureTrunk: () => enis.ensureTrunk(),
    create: (namespace, name, pod, groups) => enis.createFor({ namespace, name, uid: pod.uid }, groups),
    annotate: (namespace, name, value) => setPodEniAnnotation(apis, namespace, name, value),
    warn: (namespace, name, reason, message) => podWarning(apis, namespace, name, reason, message),
    release: async (eniId) => (await enis.delete(eniId)) !== 'not-ours',
    isGroupError: (e) => e instanceof BranchGroupError,
  };
  // A branch ENI stays while its pod exists with the same UID (a DEL that never came, or a restart, leaves
  // the others behind).
  const maintain = async () => {
    await enis.ensureTrunk();
    const deleted = await enis.sweep(async (ref) => {
      const pod = await lookup.pod(ref.namespace, ref.name);
      return pod !== undefined && pod.uid === ref.uid;
    });
    if (deleted.length) d.logger.info({ deleted }, 'branch ENIs of deleted pods removed');
  };
  return { branches, maintain, stop: () => sgp.stop() };
}
