// `network-policy-controller`: flags → logger → PolicyController (README.md). A bad flag exits 2, a failed start
// exits 1 with one line naming the cause; SIGTERM stops it cleanly.
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@vpc-cni/shared/logging';
import { VERSION } from '@vpc-cni/shared/version';
import { PolicyController } from './controller/controller.js';
import { FlagError, parseFlags, usage } from './controller/flags.js';
import { serveHealth } from './controller/health.js';
import { LeaderElector } from './controller/leader.js';
import { ControllerMetrics, serveMetrics } from './controller/metrics.js';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

/** The Lease name upstream's controller uses, so the two never run side by side. */
export const LEASE_NAME = 'amazon-network-policy-controller-k8s';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage());
    return 0;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`network-policy-controller: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger({ level: flags.logLevel, file: 'stderr', name: 'network-policy-controller' });
  let controller: PolicyController;
  let elector: LeaderElector | undefined;
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let health: Awaited<ReturnType<typeof serveHealth>> | undefined;
  try {
    const kc = new KubeConfig();
    const file = flags.kubeconfig || process.env['KUBECONFIG'];
    if (file) kc.loadFromFile(file);
    else kc.loadFromCluster();
    const metrics = new ControllerMetrics();
    controller = new PolicyController({
      kc,
      logger,
      chunkSize: flags.chunkSize,
      batchMs: flags.batchMs,
      metrics,
    });
    if (flags.metricsBindAddr !== '0') metricsServer = await serveMetrics(flags.metricsBindAddr, metrics);
    const c = controller;
    if (flags.healthProbeBindAddr !== '0')
      health = await serveHealth(flags.healthProbeBindAddr, () => c.healthy);
    if (flags.leaderElect) {
      elector = new LeaderElector({
        kc,
        logger,
        namespace: flags.leaderElectionNamespace,
        name: LEASE_NAME,
        identity: `${hostname()}_${randomUUID()}`,
        leaseDurationMs: 15_000,
        retryMs: 2_000,
      });
      // Another replica leads: wait here (healthy, not ready) until the lease is ours.
      await elector.run(() => {
        process.stderr.write('network-policy-controller: lost the leader lease; exiting\n');
        process.exit(1);
      });
    }
    await controller.start();
  } catch (err) {
    const line = `cannot start: ${(err as Error).message}`;
    logger.error({ err }, line);
    logger.flush();
    health?.close();
    metricsServer?.close();
    process.stderr.write(`network-policy-controller: ${line}\n`);
    return 1;
  }
  logger.info({ chunkSize: flags.chunkSize, batchMs: flags.batchMs }, 'controller started');
  const running = controller;
  return new Promise<number>((resolve) => {
    const onSignal = (signal: string) => {
      logger.info({ signal }, 'stopping');
      elector?.stop();
      void running.stop().then(() => {
        health?.close();
        metricsServer?.close();
        logger.flush();
        resolve(0);
      });
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
}
