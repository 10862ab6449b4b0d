// ENABLE_POD_ENI wiring (spec §7.1): branch-ENI pods answered from their annotation, the trunk's host link
// found by MAC, and the SecurityGroupsForPods feature signalled on this node's CNINode until a trunk is attached.
import type { Logger } from '@vpc-cni/shared/logging';
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { AddNetworkReply } from '@vpc-cni/shared/rpc';
import { addCniNodeFeature, K8sPodLookup, kubeApis, type PodLookup } from '../k8s/index.js';
import { BranchPods } from '../service/branch-pods.js';
import type { Datastore } from '../store/index.js';

const LINK_TRIES = 5;
const LINK_RETRY_MS = 100;

export interface PodEniSupport {
  branch: BranchPods;
  /** Adds SecurityGroupsForPods to the CNINode while no trunk is known; true once a trunk ENI is attached. */
  signal(): Promise<boolean>;
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

  const branch = new BranchPods({
    lookup: d.lookup ?? new K8sPodLookup(apis),
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
      d.logger.warn({ node, err: String(e) }, 'CNINode feature update failed; will retry');
    }
    return false;
  }
  return { branch, signal };
}
