// ipamd's HTTP servers (docs/architecture.md#introspection-and-metrics): introspection, with /v1/enis per managed
// card and /v1/network-cards (ours), and Prometheus metrics with node totals and per-card gauges.
import type { Server } from 'node:http';
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { CardDecision } from '../cards/index.js';
import {
  type CardStatus,
  type ErrorLog,
  type IpamdMetrics,
  introspectionHandler,
  listenHttp,
  metricsHandler,
} from '../http/index.js';
import type { ManagedCard } from '../service/multi-nic.js';
import type { Datastore } from '../store/index.js';
import type { Started } from './started.js';

export interface HttpSideDeps {
  cfg: IpamdConfig;
  env: Readonly<Record<string, string | undefined>>;
  ds: Datastore;
  cards: () => readonly ManagedCard[];
  metrics: IpamdMetrics;
  errors: ErrorLog;
  eniConfigName: () => Promise<string | undefined>;
  /** Every card of the instance type (EC2 mode); card 0 alone otherwise. */
  decisions: readonly CardDecision[] | undefined;
  capacity: ReadonlyMap<number, { enis: number; ips: number }>;
}

export interface HttpSide {
  servers: Server[];
  introspectionPort: number;
  metricsPort: number;
}

/** The status of every card of the instance type for /v1/network-cards. */
export function cardStatuses(d: HttpSideDeps): CardStatus[] {
  const decisions = d.decisions ?? [{ index: 0, managed: true, why: 'network card 0 holds the primary ENI' }];
  const managed = new Map<number, { ds: Datastore; checkpoint: string }>([
    [0, { ds: d.ds, checkpoint: d.cfg.AWS_VPC_K8S_CNI_BACKING_STORE }],
    ...d.cards().map((c) => [c.card, { ds: c.ds, checkpoint: c.checkpoint.path }] as const),
  ]);
  return decisions.map((c) => {
    const m = managed.get(c.index);
    return {
      card: c.index,
      managed: c.managed && m !== undefined,
      why: c.managed && !m ? `${c.why}, but it has no pool (see /v1/errors and the log)` : c.why,
      capacity: m ? d.capacity.get(c.index) : undefined,
      ds: m?.ds,
      checkpoint: m?.checkpoint,
    };
  });
}

export async function startHttpSide(d: HttpSideDeps, started: Started): Promise<HttpSide> {
  const { cfg, env } = d;
  const out: HttpSide = { servers: [], introspectionPort: 0, metricsPort: 0 };
  if (!cfg.DISABLE_INTROSPECTION) {
    const r = await listenHttp(
      cfg.INTROSPECTION_BIND_ADDRESS,
      introspectionHandler(d.ds, cfg, d.errors, d.eniConfigName, d.cards, () => cardStatuses(d)),
      {
        allowNonLoopback: env['INTROSPECTION_BIND_ADDRESS'] !== undefined,
        what: 'introspection',
        variable: 'INTROSPECTION_BIND_ADDRESS',
      },
    );
    out.servers.push(r.server);
    started.add('introspection server', () => new Promise((res) => r.server.close(res)));
    out.introspectionPort = r.port;
  }
  if (!cfg.DISABLE_METRICS) {
    const r = await listenHttp(
      cfg.VPC_CNI_METRICS_BIND_ADDRESS,
      metricsHandler(d.metrics, d.ds, d.cards),
      // Upstream serves metrics on every interface (Prometheus scrapes the node IP): the default is deliberate.
      { allowNonLoopback: true, what: 'metrics', variable: 'VPC_CNI_METRICS_BIND_ADDRESS' },
    );
    out.servers.push(r.server);
    started.add('metrics server', () => new Promise((res) => r.server.close(res)));
    out.metricsPort = r.port;
  }
  return out;
}
