// The agent process: start-up in the order of the package README ("Start-up"), then serve until SIGTERM.
// Every dependency with I/O comes in through AgentDeps so tests can start the real sequence against a simulator.
import { type Server, createServer } from 'node:http';
import { ImdsClient } from '@vpc-cni/shared/imds';
import type { Logger } from '@vpc-cni/shared/logging';
import { Netlink } from '@vpc-cni/shared/netlink';
import type { RpcServer } from '@vpc-cni/shared/rpc-server';
import type { PolicyDatapath } from '../datapath/contract.js';
// Flow logs and their CloudWatch sink (with two AWS SDK clients) are loaded only when enabled: loaded at start-up
// they cost every agent several MiB of heap (docs/build.md "Memory").
import type { CloudWatchSink } from '../flowlog/index.js';
import { AgentMetrics, bpfFsCheck, globalPinsCheck, grpcSocketCheck, healthHandler } from '../http/index.js';
import { agentKube } from '../k8s/client.js';
import { kubeEventRecorder } from '../k8s/events.js';
import { PolicyEndpointSource } from '../k8s/pe-source.js';
import { PodLabelSource } from '../k8s/pod-labels.js';
import {
  disabledHandlers,
  fetchNetworkPolicyConfig,
  interpretMode,
  startNpServer,
  type NpHandlers,
} from '../rpc/index.js';
import type { OpenDatapath } from './datapath-open.js';
import type { AgentFlags } from './flags.js';
import { describeIssue } from './issues.js';
import { EnforceError, Reconciler, type EnforcingMode } from './reconciler.js';

export class FatalStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FatalStartError';
  }
}

export interface AgentDeps {
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  openDatapath: OpenDatapath;
  /** Whether a host veth exists (default: a netlink lookup in the agent's namespace). */
  vethExists?: (name: string) => boolean;
}

export interface RunningAgent {
  /** Ports actually bound (tests bind port 0). */
  metricsPort: number;
  healthPort: number;
  npaTcpPort: number;
  reconciler?: Reconciler;
  stop(): Promise<void>;
}

async function listen(
  address: string,
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; port: number }> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(address.slice(i + 1)), host || undefined, resolve);
  });
  const a = server.address();
  return { server, port: typeof a === 'object' && a ? a.port : 0 };
}

const parseMode = (m: string): EnforcingMode | undefined => {
  const v = m.trim().toLowerCase();
  return v === 'standard' || v === 'strict' ? v : undefined;
};

export async function runAgent(flags: AgentFlags, deps: AgentDeps): Promise<RunningAgent> {
  const { logger, env } = deps;
  const family = flags.enableIpv6 ? 'ipv6' : 'ipv4';
  const metrics = new AgentMetrics();
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        logger.warn({ err }, 'error while stopping');
      }
    }
  };
  let handlers: NpHandlers = disabledHandlers;
  let reconciler: Reconciler | undefined;
  let datapath: PolicyDatapath | undefined;
  let peSource: PolicyEndpointSource | undefined;

  try {
    if (flags.enableNetworkPolicy) {
      // 1. Node IP from IMDS.
      const imds = new ImdsClient({
        endpoint: env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] || 'http://169.254.169.254',
      });
      let nodeIp: string;
      try {
        nodeIp = await imds.require(family === 'ipv4' ? 'meta-data/local-ipv4' : 'meta-data/ipv6');
      } catch (err) {
        throw new FatalStartError(`cannot read the node IP from IMDS: ${(err as Error).message}`, {
          cause: err,
        });
      }
      // 2. Mode from ipamd.
      let answer;
      try {
        answer = interpretMode(await fetchNetworkPolicyConfig(flags.ipamdSocket, logger));
      } catch (err) {
        throw new FatalStartError((err as Error).message, { cause: err });
      }
      if (answer.kind === 'invalid')
        throw new FatalStartError(
          `ipamd reports NETWORK_POLICY_ENFORCING_MODE="${answer.value}"; with --enable-network-policy=true it must ` +
            'be standard or strict (set it on the aws-node container)',
        );
      if (answer.kind === 'disabled')
        logger.warn({ reason: answer.reason }, 'network policy disabled: every CNI call succeeds unenforced');
      else {
        logger.info({ nodeIp, mode: answer.mode, family }, 'starting network policy enforcement');
        // 3-10. Load or adopt the eBPF objects and global maps (the datapath's job).
        try {
          datapath = deps.openDatapath({
            family,
            bpffsRoot: flags.bpffsRoot,
            conntrackTableSize: flags.conntrackCacheTableSize,
            logger,
          });
        } catch (err) {
          throw new FatalStartError(`cannot open the eBPF datapath: ${(err as Error).message}`, {
            cause: err,
          });
        }
        const dp = datapath;
        cleanups.push(() => dp.close());
        const kube = agentKube(flags.kubeconfig, env);
        const nodeName = env['MY_NODE_NAME'] ?? '';
        const events = kubeEventRecorder(kube, nodeName, logger);
        // Strict mode: the node's pod labels, so a pod stays closed in a direction a policy will isolate until
        // that policy's PolicyEndpoint lists it (README "Strict mode").
        // (Its events only flow after start(), below, once `rec` exists.)
        const podLabels =
          answer.mode === 'strict'
            ? new PodLabelSource(kube, nodeName, logger, (ns, name) => rec.podLabelsChanged(ns, name))
            : undefined;
        let vethExists = deps.vethExists;
        if (!vethExists) {
          const nl = Netlink.open();
          cleanups.push(() => nl.close());
          vethExists = (n) => nl.link.find(n) !== undefined;
        }
        const rec = new Reconciler({
          datapath: dp,
          nodeIp,
          mode: answer.mode,
          logger,
          vethPrefixes: [...new Set([env['AWS_VPC_K8S_CNI_VETHPREFIX'] || 'eni', 'vlan'])],
          vethExists,
          onIssue: (issue, pod) => {
            const d = describeIssue(issue, rec.index);
            logger.error({ issue, pod }, d.message);
            metrics.compileIssues.inc({ kind: issue.kind });
            for (const pe of d.pes) events.warn(pe.namespace, pe.name, d.reason, d.message);
          },
          onProgrammed: (_pod, pes) => {
            for (const pe of pes) metrics.programmed(pe.changeTime);
          },
          ...(podLabels
            ? {
                podLabels: (ref: string) => {
                  const i = ref.indexOf('/');
                  return podLabels.labels(ref.slice(0, i), ref.slice(i + 1));
                },
              }
            : {}),
        });
        reconciler = rec;
        if (podLabels) {
          // Listed before the PolicyEndpoints, so the first programming knows every local pod's labels.
          await podLabels.start();
          cleanups.push(() => podLabels.stop());
        }
        // 8. Adopt pinned pod keys of an earlier run.
        rec.adopt(
          dp.listKeys().flatMap((k) => {
            const at = k.key.lastIndexOf('@');
            if (at <= 0) return [];
            return [
              {
                name: k.key.slice(0, at),
                namespace: k.key.slice(at + 1),
                veths: k.attached.map((a) => a.ifname),
              },
            ];
          }),
        );
        // 11. Flow events.
        if (flags.enablePolicyEventLogs) {
          let cloudWatch: CloudWatchSink | undefined;
          if (flags.enableCloudwatchLogs) cloudWatch = await startCloudWatch(flags, env, imds, logger);
          const cw = cloudWatch;
          const { startFlowLogs } = await import('../flowlog/index.js');
          const stopEvents = startFlowLogs(dp, {
            family,
            logger,
            metrics,
            nodeName,
            debug: flags.logLevel === 'debug',
            ...(cw ? { cloudWatch: cw } : {}),
          });
          cleanups.push(async () => {
            await stopEvents();
            await cw?.flush();
          });
        }
        // 12. Conntrack garbage collection.
        const gc = setInterval(
          () => {
            try {
              const n = dp.conntrackGcTick();
              if (n > 0) logger.debug({ deleted: n }, 'conntrack entries collected');
            } catch (err) {
              logger.error({ err }, 'conntrack garbage collection failed');
            }
          },
          (flags.conntrackCacheCleanupPeriodS * 1000) / 2,
        );
        gc.unref();
        cleanups.push(() => clearInterval(gc));
        handlers = {
          enforce: (req) => {
            const mode = parseMode(req.NETWORK_POLICY_MODE);
            if (!mode) {
              if (req.NETWORK_POLICY_MODE.trim().toLowerCase() === 'none') return;
              throw new EnforceError(
                `Invalid Network Policy Mode "${req.NETWORK_POLICY_MODE}" (standard or strict)`,
              );
            }
            rec.enforce(req.K8S_POD_NAME, req.K8S_POD_NAMESPACE, mode, req.InterfaceCount);
          },
          deletePod: (req) => rec.deletePod(req.K8S_POD_NAME, req.K8S_POD_NAMESPACE),
        };
        // 15. PolicyEndpoints: the initial list arrives as adds, then the reconciler programs every local pod.
        peSource = new PolicyEndpointSource(kube, logger, {
          upsert: (pe) => rec.peUpserted(pe),
          remove: (ns, name) => rec.peDeleted(ns, name),
          refused: (ns, name, reason) => {
            logger.error({ policyEndpoint: `${ns}/${name}`, reason }, 'PolicyEndpoint refused: malformed');
            if (ns && name)
              events.warn(
                ns,
                name,
                'MalformedPolicyEndpoint',
                `refused by the agent on ${nodeName}: ${reason}`,
              );
          },
        });
        const source = peSource;
        cleanups.push(() => source.stop());
      }
    }

    // The gRPC server always runs: the plugin calls it whenever ipamd's mode is non-empty.
    let npServer: RpcServer;
    let npaTcpPort: number;
    try {
      ({ server: npServer, tcpPort: npaTcpPort } = await startNpServer({
        socket: flags.npaSocket,
        tcpAddress: flags.npaTcpAddress,
        handlers: () => handlers,
        logger,
      }));
    } catch (err) {
      throw new FatalStartError(
        `cannot serve gRPC on ${flags.npaSocket} / ${flags.npaTcpAddress}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    cleanups.push(() => npServer.stop(2_000));

    if (peSource && reconciler) {
      const rec = reconciler;
      await peSource.start();
      rec.markSynced();
      logger.info({ policyEndpoints: rec.index.size }, 'PolicyEndpoints listed; enforcing');
    }

    const readyz: Parameters<typeof healthHandler>[0]['readyz'] = {
      'grpc-socket': grpcSocketCheck(flags.npaSocket),
    };
    if (datapath) {
      readyz['bpf-maps'] = globalPinsCheck(flags.bpffsRoot);
      readyz['bpf-fs'] = bpfFsCheck(flags.bpffsRoot);
      const rec = reconciler;
      readyz['policy-endpoints'] = async () => (rec?.isSynced ? undefined : 'PolicyEndpoints not listed yet');
    }
    let health: { server: Server; port: number };
    let metricsSrv: { server: Server; port: number };
    try {
      health = await listen(
        flags.healthProbeBindAddr,
        healthHandler({ healthz: { 'grpc-socket': grpcSocketCheck(flags.npaSocket) }, readyz }),
      );
      metricsSrv = await listen(flags.metricsBindAddr, (req, res) => {
        if ((req.url ?? '').split('?')[0] !== '/metrics') {
          res.writeHead(404).end('not found\n');
          return;
        }
        void metrics.registry
          .metrics()
          .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text));
      });
    } catch (err) {
      throw new FatalStartError(`cannot listen for metrics/health: ${(err as Error).message}`, {
        cause: err,
      });
    }
    cleanups.push(() => new Promise<void>((r) => health.server.close(() => r())));
    cleanups.push(() => new Promise<void>((r) => metricsSrv.server.close(() => r())));
    return {
      metricsPort: metricsSrv.port,
      healthPort: health.port,
      npaTcpPort,
      ...(reconciler ? { reconciler } : {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startCloudWatch(
  flags: AgentFlags,
  env: Readonly<Record<string, string | undefined>>,
  imds: ImdsClient,
  logger: Logger,
): Promise<CloudWatchSink> {
  try {
    const region = flags.awsRegion || (await imds.require('meta-data/placement/region'));
    const instanceId = await imds.require('meta-data/instance-id');
    const { CloudWatchLogsClient, CloudWatchSink, EC2Client, clusterNameFromTags, logGroupName } =
      await import('../flowlog/index.js');
    const ec2 = new EC2Client({
      region,
      ...(env['AWS_EC2_ENDPOINT'] ? { endpoint: env['AWS_EC2_ENDPOINT'] } : {}),
    });
    const cluster = await clusterNameFromTags(ec2, instanceId);
    // The SDK reads AWS_ENDPOINT_URL_CLOUDWATCH_LOGS itself (tests point it at the simulator).
    const sink = new CloudWatchSink({
      client: new CloudWatchLogsClient({ region }),
      logGroup: logGroupName(cluster),
      logger,
    });
    await sink.init();
    logger.info({ logGroup: logGroupName(cluster), stream: sink.stream }, 'flow logs go to CloudWatch Logs');
    return sink;
  } catch (err) {
    throw new FatalStartError(`cannot set up CloudWatch Logs for flow logs: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
