// aws-k8s-agent (ipamd) wiring: config → datastore (ENIs) → checkpoint restore → gRPC, introspection, metrics.
// Health turns SERVING only once the datastore is loaded and restored. SIGTERM: stop accepting, let in-flight
// calls finish, flush the checkpoint, exit.
import type { Server } from 'node:http';
import { type IpamdConfig, loadIpamdConfig } from '@vpc-cni/shared/config';
import type { Logger } from '@vpc-cni/shared/logging';
import { CNIBackend, CNIGarbageCollector, ConfigServerBackend } from '@vpc-cni/shared/rpc';
import { RpcServer, ServingStatus } from '@vpc-cni/shared/rpc-server';
import { VERSION } from '@vpc-cni/shared/version';
import { ErrorLog, IpamdMetrics, introspectionHandler, listenHttp } from '../http/index.js';
import { Checkpoint } from '../persistence/index.js';
import { IpamService } from '../service/ipam-service.js';
import { MemorySupply } from '../service/memory-supply.js';
import { type AddressSupply, noSupply } from '../service/supply.js';
import { Datastore } from '../store/index.js';
import { type EniConfigSource, type EniPlumbing, noPlumbing, type PoolManager } from '../eni/index.js';
import { loadStaticEnis, parseStaticEnis, staticPrimary } from './static-enis.js';
import type { PodLookup } from '../k8s/pod-eni.js';
import type { BranchContext } from './ec2-source.js';
import type { NodeFacts } from '../imds/index.js';

export const HEALTH_SERVICE = 'grpc.health.v1.aws-node';

export interface Agent {
  readonly ds: Datastore;
  readonly checkpoint: Checkpoint;
  readonly metrics: IpamdMetrics;
  readonly introspectionPort: number;
  readonly metricsPort: number;
  /** The pool manager (EC2 mode only). */
  readonly manager: PoolManager | undefined;
  stop(): Promise<void>;
}

interface EniSource {
  supply: AddressSupply;
  primary: { mac: string; primaryIp: string; vpcCidrs: string[]; vpcV6?: string[] } | undefined;
  manager?: PoolManager;
  ipv6Only?: boolean;
  readVpcCidrs?: () => Promise<string[]>;
  eniMac?: (id: string) => string | undefined;
  branchContext?: BranchContext;
  facts?: NodeFacts;
}

async function loadEnis(
  cfg: IpamdConfig,
  ds: Datastore,
  logger: Logger,
  plumbing: EniPlumbing,
  env: Readonly<Record<string, string | undefined>>,
  opts: StartOptions,
  onAwsCall: (api: string, outcome: string, ms: number, status: number) => void,
): Promise<EniSource> {
  if (!cfg.VPC_CNI_STATIC_ENIS) {
    const { loadFromEc2 } = await import('./ec2-source.js');
    return loadFromEc2(cfg, ds, logger, plumbing, env, opts.eniConfigSource, onAwsCall);
  }
  const enis = parseStaticEnis(cfg.VPC_CNI_STATIC_ENIS);
  const reserve = loadStaticEnis(ds, enis);
  logger.info({ enis: ds.eniList().length, stats: ds.stats() }, 'ENIs loaded from VPC_CNI_STATIC_ENIS');
  const supply = cfg.DISABLE_NETWORK_RESOURCE_PROVISIONING
    ? noSupply()
    : new MemorySupply(ds, { reserve, batch: 1 });
  return { supply, primary: staticPrimary(enis) };
}

/**
 * Host networking before serving (docs/architecture.md#host-networking): the node is ready for pods only once
 * SNAT/connmark are in place.
 */
async function setupHost(
  cfg: IpamdConfig,
  primary: NonNullable<EniSource['primary']>,
  logger: Logger,
): Promise<void> {
  const [{ applyHostNetwork }, { Netlink }] = await Promise.all([
    import('../hostnet/index.js'),
    import('@vpc-cni/shared/netlink'),
  ]);
  const nl = Netlink.open();
  let primaryIf: string;
  try {
    const link = nl.link.list().find((l) => l.mac?.toLowerCase() === primary.mac.toLowerCase());
    if (!link) throw new Error(`no interface has the primary ENI's MAC ${primary.mac}`);
    primaryIf = link.name;
    nl.link.setMtu(link.index, cfg.AWS_VPC_ENI_MTU);
  } finally {
    nl.close();
  }
  const r = applyHostNetwork({
    ipv6: cfg.ENABLE_IPv6,
    vpcCidrs: primary.vpcCidrs,
    excludeSnatCidrs: cfg.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS,
    externalSnat: cfg.AWS_VPC_K8S_CNI_EXTERNALSNAT,
    randomizeSnat: cfg.AWS_VPC_K8S_CNI_RANDOMIZESNAT,
    nodePortSupport: cfg.AWS_VPC_CNI_NODE_PORT_SUPPORT,
    connmark: cfg.AWS_VPC_K8S_CNI_CONNMARK,
    vethPrefix: cfg.AWS_VPC_K8S_CNI_VETHPREFIX,
    primaryIf,
    primaryIp: primary.primaryIp,
    v6Egress: cfg.ENABLE_V6_EGRESS,
    v4Egress: cfg.ENABLE_V4_EGRESS,
    externalServiceCidrs: cfg.AWS_EXTERNAL_SERVICE_CIDRS,
    podEniStrict: cfg.ENABLE_POD_ENI && cfg.POD_SECURITY_GROUP_ENFORCING_MODE === 'strict',
  });
  logger.info(
    { primaryIf, iptablesChanged: r.v4 !== '' || r.v6 !== '', rulesChanged: r.rulesChanged },
    'host networking set up',
  );
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
}

export async function startAgent(
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
  opts: StartOptions = {},
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
  const { supply, primary, manager, readVpcCidrs, ipv6Only, eniMac, branchContext, facts } = await loadEnis(
    cfg,
    ds,
    logger,
    plumbing,
    env,
    opts,
    (api, outcome, ms, status) => {
      const failed = outcome !== 'ok';
      metrics.awsApiLatency.observe({ api, error: String(failed), status: String(status) }, ms);
      metrics.ec2ReqCount.inc({ fn: api });
      if (failed) {
        metrics.awsApiErrorCount.inc({ api, error: outcome });
        metrics.ec2ErrorCount.inc({ fn: api });
      }
    },
  );
  if (primary && hostNetworking) await setupHost(cfg, primary, logger);
  let vpcV4 = primary?.vpcCidrs ?? [];

  const checkpoint = new Checkpoint(cfg.AWS_VPC_K8S_CNI_BACKING_STORE, () => ds.allocations(), logger);
  const loaded = await checkpoint.load();
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const allocations =
    loaded.kind === 'loaded'
      ? loaded.entries.map((e) => e.allocation)
      : loaded.kind === 'corrupt'
        ? (await import('../persistence/recover.js')).recoverFromHostRoutes(
            cfg.AWS_VPC_K8S_CNI_VETHPREFIX,
            nowNs,
          )
        : [];
  if (loaded.kind === 'corrupt')
    errors.record(
      'checkpoint load',
      loaded.reason,
      `moved to ${loaded.movedTo}; ${allocations.length} pod addresses recovered from host routes`,
    );
  const restored = ds.restore(allocations);
  for (const q of restored.quarantined) {
    logger.warn(
      { address: q.address, key: q.key },
      'allocation on no known ENI: kept in quarantine, not dropped',
    );
    errors.record(
      'restore',
      `${q.address} (${q.key.containerID}) is on no ENI of this node`,
      'kept in quarantine until its ENI or address reappears; check EC2 for the ENI',
    );
  }
  await checkpoint.persist();
  logger.info(
    { restored: restored.restored, quarantined: restored.quarantined.length, from: loaded.kind },
    'checkpoint restored',
  );

  // Pool gauges are computed on scrape, not per request (they walk every CIDR).
  const refresh = () => metrics.refresh(ds);
  // Security groups for pods: branch-ENI pods are answered from their annotation
  // (docs/architecture.md#security-groups-for-pods).
  const podEni = cfg.ENABLE_POD_ENI
    ? await (
        await import('./pod-eni.js')
      ).podEniSupport({
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
        ...(opts.podLookup ? { lookup: opts.podLookup } : {}),
      })
    : undefined;
  const service: IpamService = new IpamService(ds, checkpoint, supply, {
    ...(podEni ? { branch: podEni.branch } : {}),
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
  rpc.addService(CNIBackend, {
    AddNetwork: (req) => service.addNetwork(req),
    DelNetwork: (req) => service.delNetwork(req),
  });
  rpc.addService(CNIGarbageCollector, { GarbageCollect: (req) => service.gc(req) });
  rpc.addService(ConfigServerBackend, {
    GetNetworkPolicyConfigs: async () => ({
      NetworkPolicyMode: env['NETWORK_POLICY_ENFORCING_MODE'] ?? '',
      MultiNICEnabled: false,
      NodeIPv4: '',
      NodeIPv6: '',
      InstanceID: '',
      Region: '',
    }),
  });
  rpc.health.set(HEALTH_SERVICE, ServingStatus.NOT_SERVING);
  await rpc.start();

  const servers: Server[] = [];
  let introspectionPort = 0;
  let metricsPort = 0;
  if (!cfg.DISABLE_INTROSPECTION) {
    const r = await listenHttp(
      cfg.INTROSPECTION_BIND_ADDRESS,
      introspectionHandler(ds, cfg, errors, () => undefined),
      {
        allowNonLoopback: env['INTROSPECTION_BIND_ADDRESS'] !== undefined,
        what: 'introspection',
      },
    );
    servers.push(r.server);
    introspectionPort = r.port;
  }
  if (!cfg.DISABLE_METRICS) {
    const r = await listenHttp(
      cfg.VPC_CNI_METRICS_BIND_ADDRESS,
      (req, res) => {
        refresh();
        metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
          (e: unknown) => res.writeHead(500).end(String(e)),
        );
      },
      // Upstream serves metrics on every interface (Prometheus scrapes the node IP): the default is deliberate.
      { allowNonLoopback: true, what: 'metrics' },
    );
    servers.push(r.server);
    metricsPort = r.port;
  }
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
    if (hostNetworking) await setupHost(cfg, { ...primary, vpcCidrs: now }, logger);
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
  }
  if (podEni?.maintain && manager) {
    // Self-managed branch ENIs: the trunk attached, and branch ENIs of pods that are gone removed (also the
    // ones a crash left behind), at start and every 30 s.
    const maintain = podEni.maintain;
    await maintain().catch((e: unknown) => logger.warn({ err: e }, 'branch ENI maintenance failed'));
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
    checkpoint,
    metrics,
    introspectionPort,
    metricsPort,
    manager,
    async stop() {
      rpc.health.set(HEALTH_SERVICE, ServingStatus.NOT_SERVING);
      await manager?.stop();
      await podEni?.stop();
      await rpc.stop(5_000);
      await checkpoint.persist();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
