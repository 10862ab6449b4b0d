// aws-k8s-agent (ipamd) wiring: config → datastore (ENIs) → checkpoint restore → gRPC, introspection, metrics.
// Health turns SERVING only once the datastore is loaded and restored. SIGTERM: stop accepting, let in-flight
// calls finish, flush the checkpoint, exit.
import { rmSync } from 'node:fs';
import { loadIpamdConfig } from '@vpc-cni/shared/config';
import type { Logger } from '@vpc-cni/shared/logging';
import {
  CNIBackend,
  CNIGarbageCollector,
  ConfigServerBackend,
  IPAMD_HEALTH_SERVICE,
} from '@vpc-cni/shared/rpc';
import { RpcServer, ServingStatus } from '@vpc-cni/shared/rpc-server';
import { VERSION } from '@vpc-cni/shared/version';
import { ErrorLog, IpamdMetrics } from '../http/index.js';
import type { Checkpoint } from '../persistence/index.js';
import { IpamService } from '../service/ipam-service.js';
import type { ManagedCard } from '../service/multi-nic.js';
import { type Allocation, Datastore } from '../store/index.js';
import { type EniConfigSource, type EniPlumbing, noPlumbing, type PoolManager } from '../eni/index.js';
import type { FreeEniOptions } from '../eni/free-eni.js';
import type { PodLookup } from '../k8s/pod-eni.js';
import { setupHost } from './host-setup.js';
import { startCardRuntime } from './card-runtime.js';
import { startHttpSide } from './http-side.js';
import { kubeSide } from './kube-side.js';
import { nodeInit } from './node-init.js';
import { type RestoreDeps, restoreCard0 } from './restore.js';
import { Started } from './started.js';

export const HEALTH_SERVICE = IPAMD_HEALTH_SERVICE;

export interface Agent {
  readonly ds: Datastore;
  /** Managed network cards > 0 (ENABLE_MULTI_NIC): datastore, checkpoint, supply of each. */
  readonly cards: readonly ManagedCard[];
  readonly checkpoint: Checkpoint;
  readonly metrics: IpamdMetrics;
  readonly introspectionPort: number;
  readonly metricsPort: number;
  /** The pool manager (EC2 mode only). */
  readonly manager: PoolManager | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Set up node-wide host networking when the primary ENI is known (default true; in-process tests turn it off). */
  hostNetworking?: boolean;
  /** Host side of ENIs (default: netlink with host networking, nothing without); benches pass a stand-in. */
  plumbing?: EniPlumbing;
  /** Custom networking: where this node's ENIConfig comes from (default: the Kubernetes API). */
  eniConfigSource?: EniConfigSource;
  /** Security groups for pods: where pods are read from (default: the Kubernetes API). */
  podLookup?: PodLookup;
  /** Pacing of ENI detach/delete retries (default upstream's); in-process tests shrink it. */
  freeEni?: FreeEniOptions;
}

/**
 * Starts ipamd. Any failure releases what was already started (gRPC, HTTP servers, loops, watches) before it
 * is rethrown, so the caller can exit and the kubelet restart the pod.
 */
export async function startAgent(
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
  opts: StartOptions = {},
): Promise<Agent> {
  const started = new Started();
  try {
    return await start(env, logger, opts, started);
  } catch (e) {
    await started.release(logger);
    throw e;
  }
}

async function start(
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
  opts: StartOptions,
  started: Started,
): Promise<Agent> {
  const t0 = performance.now();
  const cfg = loadIpamdConfig(env);
  const metrics = new IpamdMetrics(VERSION);
  const errors = new ErrorLog();
  const ds = new Datastore({
    family: cfg.ENABLE_IPv6 ? 6 : 4,
    prefixDelegation: cfg.ENABLE_PREFIX_DELEGATION,
    cooldownMs: cfg.IP_COOLDOWN_PERIOD * 1000,
  });
  const hostNetworking = opts.hostNetworking !== false;
  const plumbing =
    opts.plumbing ??
    (hostNetworking
      ? (await import('../hostnet/index.js')).netlinkPlumbing(cfg.AWS_VPC_ENI_MTU)
      : noPlumbing);
  const kube = kubeSide(cfg, env, logger, opts.eniConfigSource);
  const source = await nodeInit(cfg, ds, logger, plumbing, metrics, kube, opts.freeEni);
  const { supply, primary, manager, readVpcCidrs, ipv6Only, eniMac, branchContext, facts } = source;
  if (manager) started.add('pool manager', () => manager.stop());
  for (const p of source.cardPools ?? [])
    if (p.manager) {
      const m = p.manager;
      started.add(`pool manager of network card ${p.card}`, () => m.stop());
    }
  if (primary && hostNetworking) await setupHost(cfg, primary, logger, metrics);
  let vpcV4 = primary?.vpcCidrs ?? [];

  let routes: Promise<Allocation[]> | undefined;
  const restoreDeps: RestoreDeps = {
    cfg,
    logger,
    errors,
    // The pod routes aws-cni wrote, read once and only when a checkpoint is corrupt or missing.
    hostRoutes: () =>
      (routes ??= import('../persistence/recover.js').then((m) =>
        m.recoverFromHostRoutes(cfg.AWS_VPC_K8S_CNI_VETHPREFIX, BigInt(Date.now()) * 1_000_000n),
      )),
  };
  const pools = source.cardPools ?? [];
  const { checkpoint, allocations } = await restoreCard0(
    restoreDeps,
    ds,
    pools.map((p) => p.ds),
  );
  const cardRuntime = await startCardRuntime(
    cfg,
    pools,
    facts?.instanceType,
    restoreDeps,
    allocations,
    source.cardDecisions,
  );
  // Pool gauges are computed on scrape, not per request (they walk every CIDR).
  const refresh = () => metrics.refresh(ds, cardRuntime.cards);
  // Security groups for pods: branch-ENI pods are answered from their annotation
  // (docs/architecture.md#security-groups-for-pods).
  const podEni = cfg.ENABLE_POD_ENI
    ? await (
        await import('./pod-eni.js')
      )
        .podEniSupport({
          cfg,
          env,
          ds,
          eniMac: eniMac ?? (() => undefined),
          ...(branchContext && facts
            ? {
                branchContext,
                instanceId: facts.instanceId,
                primarySubnetId: facts.subnetId,
                primaryGroups: facts.securityGroups,
              }
            : {}),
          baseReply: (family) => service.baseReply(family),
          logger,
          onError: (fn) => metrics.podEniErrorCount.inc({ fn }),
          ...(opts.podLookup ? { lookup: opts.podLookup } : {}),
        })
        .catch((e: unknown) => {
          metrics.podEniErrorCount.inc({ fn: 'nodeInit' });
          throw e;
        })
    : undefined;
  if (podEni) started.add('security groups for pods', () => podEni.stop());
  const service: IpamService = new IpamService(ds, checkpoint, supply, {
    ...(podEni ? { branch: podEni.branch } : {}),
    multiNic: cardRuntime.multiNic,
    version: VERSION,
    addWaitMs: cfg.VPC_CNI_ADD_WAIT_SECONDS * 1000,
    networkPolicyMode: env['NETWORK_POLICY_ENFORCING_MODE'] ?? '',
    // The VPC CIDRs, plus the SNAT exclusions when ipamd does SNAT
    // (docs/architecture.md#addnetwork-and-delnetwork).
    vpcCidrs: () => ({
      v4: [...vpcV4, ...(cfg.AWS_VPC_K8S_CNI_EXTERNALSNAT ? [] : cfg.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS)],
      v6: primary?.vpcV6 ?? [],
    }),
    externalSnat: cfg.AWS_VPC_K8S_CNI_EXTERNALSNAT,
    logger,
    onAdd: (outcome, ms) => {
      metrics.addReqCount.inc();
      metrics.addLatency.observe({ outcome }, ms / 1000);
    },
    onDel: (reason, outcome, ms) => {
      metrics.delReqCount.inc({ reason });
      metrics.delLatency.observe({ outcome }, ms / 1000);
    },
    onNoAvailable: () => metrics.noAvailable.inc(),
  });

  const rpc = new RpcServer({
    unixSocket: cfg.VPC_CNI_IPAMD_SOCKET,
    ...(cfg.VPC_CNI_IPAMD_TCP_ADDRESS ? { tcpAddress: cfg.VPC_CNI_IPAMD_TCP_ADDRESS } : {}),
  });
  const annotate = kube.podIps;
  rpc.addService(CNIBackend, {
    AddNetwork: annotate
      ? async (req) => {
          const r = await service.addNetwork(req);
          const a = r.IPAllocationMetadata[0];
          if (r.Success && a)
            await annotate.added(req.K8S_POD_NAMESPACE, req.K8S_POD_NAME, a.IPv4Addr || a.IPv6Addr);
          return r;
        }
      : (req) => service.addNetwork(req),
    DelNetwork: annotate
      ? async (req) => {
          const r = await service.delNetwork(req);
          const a = r.IPAllocationMetadata[0];
          if (r.Success && a)
            await annotate.released(req.K8S_POD_NAMESPACE, req.K8S_POD_NAME, a.IPv4Addr || a.IPv6Addr);
          return r;
        }
      : (req) => service.delNetwork(req),
  });
  rpc.addService(CNIGarbageCollector, { GarbageCollect: (req) => service.gc(req) });
  rpc.addService(ConfigServerBackend, {
    GetNetworkPolicyConfigs: async () => ({
      NetworkPolicyMode: env['NETWORK_POLICY_ENFORCING_MODE'] ?? '',
      MultiNICEnabled: cfg.ENABLE_MULTI_NIC,
      NodeIPv4: '',
      NodeIPv6: '',
      InstanceID: '',
      Region: '',
    }),
  });
  rpc.health.set(HEALTH_SERVICE, ServingStatus.NOT_SERVING);
  started.add('gRPC server', async () => {
    await rpc.stop(0);
    rmSync(cfg.VPC_CNI_IPAMD_SOCKET, { force: true });
  });
  await rpc.start();

  const { servers, introspectionPort, metricsPort } = await startHttpSide(
    {
      cfg,
      env,
      ds,
      cards: () => cardRuntime.cards,
      metrics,
      errors,
      eniConfigName: () => kube.eniConfigName(),
      decisions: source.cardDecisions,
      capacity: new Map([
        ...(source.capacity ? [[0, source.capacity] as const] : []),
        ...pools.flatMap((p) => (p.capacity ? [[p.card, p.capacity] as const] : [])),
      ]),
    },
    started,
  );
  refresh();
  metrics.startupDuration.observe(
    { success: 'true', with_api_server: 'false', failure_reason: '' },
    (performance.now() - t0) / 1000,
  );
  // The 30 s VPC CIDR watcher (docs/architecture.md#background-tasks): a CIDR added to the VPC must not be
  // SNATed.
  const watchVpcCidrs = async () => {
    if (!primary || !readVpcCidrs) return;
    const now = await readVpcCidrs().catch(() => vpcV4);
    if (now.length === 0 || [...now].sort().join() === [...vpcV4].sort().join()) return;
    logger.info({ before: vpcV4, now }, 'VPC CIDRs changed: rewriting host rules');
    vpcV4 = now;
    if (hostNetworking) await setupHost(cfg, { ...primary, vpcCidrs: now }, logger, metrics);
  };
  if (manager && !ipv6Only) {
    manager.addPeriodic({ everyMs: 30_000, run: watchVpcCidrs });
    manager.onReleased = async (released) => {
      for (const r of released)
        errors.record(
          'reconcile',
          `${r.address} of ${r.metadata.k8sPodNamespace}/${r.metadata.k8sPodName} left the node with its ENI or address`,
          'the pod has no working address; delete it so it is re-created',
        );
      await checkpoint.persist();
    };
    manager.start();
    for (const p of cardRuntime.pools) p.manager?.start();
  }
  if (podEni?.maintain && manager) {
    // Self-managed branch ENIs: the trunk attached, and branch ENIs of pods that are gone removed (also the
    // ones a crash left behind), at start and every 30 s.
    const maintain = podEni.maintain;
    await maintain().catch((err: unknown) => logger.warn({ err }, 'branch ENI maintenance failed'));
    manager.addPeriodic({ everyMs: 30_000, run: maintain });
  }
  if (podEni && !(await podEni.signal()) && manager) {
    // Until a trunk ENI is attached (docs/architecture.md#security-groups-for-pods): signal the CNINode
    // feature and reconcile, so the trunk the resource controller attaches is adopted within seconds instead
    // of at the next idle reconcile.
    manager.addPeriodic({
      everyMs: 5_000,
      run: async () => {
        if (!(await podEni.signal())) await manager.reconcile();
      },
    });
  }
  rpc.health.set(HEALTH_SERVICE, ServingStatus.SERVING);
  rpc.health.set('', ServingStatus.SERVING);
  logger.info({ socket: cfg.VPC_CNI_IPAMD_SOCKET, introspectionPort, metricsPort }, 'ipamd serving');

  return {
    ds,
    cards: cardRuntime.cards,
    checkpoint,
    metrics,
    introspectionPort,
    metricsPort,
    manager,
    async stop() {
      rpc.health.set(HEALTH_SERVICE, ServingStatus.NOT_SERVING);
      await manager?.stop();
      await Promise.all(cardRuntime.pools.map((p) => p.manager?.stop()));
      await podEni?.stop();
      await rpc.stop(5_000);
      // every checkpoint file current, its journal empty
      await checkpoint.close();
      await Promise.all(cardRuntime.cards.map((c) => c.checkpoint.close()));
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
