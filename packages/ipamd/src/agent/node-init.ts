// Upstream's nodeInit: the node's ENIs from their source (eni-source.ts), timed in
// awscni_ipamd_node_initialization_duration_seconds, with the capacity of every managed card in the
// awscni_eni_max / awscni_ip_max gauges and their per-card breakdown (docs/architecture.md#network-cards).
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { Logger } from '@vpc-cni/shared/logging';
import type { IpamdMetrics } from '../http/index.js';
import { type EniPlumbing, tracked } from '../eni/index.js';
import type { FreeEniOptions } from '../eni/free-eni.js';
import type { Datastore } from '../store/index.js';
import { type EniSource, loadEnis } from './eni-source.js';
import type { KubeSide } from './kube-side.js';

/** Upstream's nodeInit: the node's ENIs, timed in awscni_ipamd_node_initialization_duration_seconds. */
export async function nodeInit(
  cfg: IpamdConfig,
  ds: Datastore,
  logger: Logger,
  plumbing: EniPlumbing,
  metrics: IpamdMetrics,
  kube: KubeSide,
  freeEni: FreeEniOptions | undefined,
): Promise<EniSource> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  try {
    const source = await tracked(metrics.pool, 'nodeInit', async () =>
      loadEnis({
        cfg,
        ds,
        logger,
        plumbing,
        eniConfig: await kube.eniConfigSource(),
        observer: metrics.pool,
        freeEni,
        onAwsCall: (api, outcome, ms, status) => {
          const failed = outcome !== 'ok';
          metrics.awsApiLatency.observe({ api, error: String(failed), status: String(status) }, ms);
          metrics.ec2ReqCount.inc({ fn: api });
          if (failed) {
            metrics.awsApiErrorCount.inc({ api, error: outcome });
            metrics.ec2ErrorCount.inc({ fn: api });
          }
          if (outcome === 'UnauthorizedOperation') void kube.events?.missingPermission(api);
        },
      }),
    );
    if (source.capacity)
      metrics.setCapacity([
        { card: 0, ...source.capacity },
        ...(source.cardPools ?? []).flatMap((p) => (p.capacity ? [{ card: p.card, ...p.capacity }] : [])),
      ]);
    metrics.nodeInitDuration.observe({ success: 'true' }, seconds());
    return source;
  } catch (e) {
    metrics.nodeInitDuration.observe({ success: 'false' }, seconds());
    throw e;
  }
}
