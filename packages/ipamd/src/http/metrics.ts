// Prometheus metrics with upstream's awscni_* names, types and labels
// (docs/architecture.md#introspection-and-metrics), plus our latency histograms. The pool gauges are
// refreshed from the datastore after every change and on scrape.
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PoolObserver } from '../eni/observer.js';
import type { Datastore } from '../store/index.js';

/** ENIs and addresses one managed network card can hold for pods (awscni_eni_max / awscni_ip_max shape). */
export interface CardCapacity {
  card: number;
  enis: number;
  ips: number;
}

export class IpamdMetrics {
  readonly registry = new Registry();
  private readonly g = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [this.registry] });
  private readonly c = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name, help, labelNames, registers: [this.registry] });

  readonly buildInfo = this.g('awscni_build_info', 'Build info', ['version', 'goversion']);
  readonly errorCount = this.c('awscni_ipamd_error_count', 'Internal ipamd errors', ['fn']);
  readonly actionInProgress = this.g('awscni_ipamd_action_inprogress', 'ipamd actions in progress', ['fn']);
  readonly eniMax = this.g(
    'awscni_eni_max',
    'Maximum ENIs this node can attach for pods (all managed cards)',
  );
  readonly ipMax = this.g('awscni_ip_max', 'Maximum IPs this node can hold for pods (all managed cards)');
  readonly reconcileCount = this.c('awscni_reconcile_count', 'Reconciliation actions', ['fn']);
  readonly addReqCount = this.c('awscni_add_ip_req_count', 'AddNetwork requests');
  readonly delReqCount = this.c('awscni_del_ip_req_count', 'DelNetwork requests', ['reason']);
  readonly podEniErrorCount = this.c('awscni_pod_eni_error_count', 'Security-groups-for-pods errors', ['fn']);
  readonly awsApiLatency = new Summary({
    name: 'awscni_aws_api_latency_ms',
    help: 'AWS API call latency in ms',
    labelNames: ['api', 'error', 'status'],
    percentiles: [],
    registers: [this.registry],
  });
  readonly awsApiErrorCount = this.c('awscni_aws_api_error_count', 'AWS API errors', ['api', 'error']);
  readonly awsUtilsErrorCount = this.c('awscni_aws_utils_error_count', 'AWS utility errors', ['fn', 'error']);
  readonly ec2ReqCount = this.c('awscni_ec2api_req_count', 'EC2 API requests', ['fn']);
  readonly ec2ErrorCount = this.c('awscni_ec2api_error_count', 'Failed EC2 API requests', ['fn']);
  readonly eniAllocated = this.g('awscni_eni_allocated', 'ENIs in the datastore');
  readonly totalIps = this.g('awscni_total_ip_addresses', 'Addresses in the datastore');
  readonly assignedIps = this.g('awscni_assigned_ip_addresses', 'Addresses assigned to pods');
  readonly forceRemovedEnis = this.c('awscni_force_removed_enis', 'ENIs force-removed with pods on them');
  readonly forceRemovedIps = this.c('awscni_force_removed_ips', 'Addresses force-removed while assigned');
  readonly totalPrefixes = this.g('awscni_total_ipv4_prefixes', 'IPv4 prefixes in the datastore');
  readonly assignedPerCidr = this.g('awscni_assigned_ip_per_cidr', 'Assigned addresses per CIDR', ['cidr']);
  readonly noAvailable = this.c('awscni_no_available_ip_addresses', 'AddNetwork calls that found no address');
  readonly assignedPerEni = this.g('awscni_assigned_ip_per_eni', 'Assigned addresses per ENI', ['eni']);
  readonly startupDuration = new Histogram({
    name: 'awscni_ipamd_startup_duration_seconds',
    help: 'ipamd start-up duration',
    labelNames: ['success', 'with_api_server', 'failure_reason'],
    registers: [this.registry],
  });
  readonly nodeInitDuration = new Histogram({
    name: 'awscni_ipamd_node_initialization_duration_seconds',
    help: 'Node initialisation duration',
    labelNames: ['success'],
    registers: [this.registry],
  });
  readonly connmarkBackend = this.g('awscni_connmark_backend', 'Active connmark backend', ['backend']);
  readonly connmarkReconcile = this.c('awscni_connmark_reconcile_total', 'Connmark set-up runs', ['result']);
  // Ours: how long pods wait for an address, by outcome (not in upstream).
  readonly addLatency = new Histogram({
    name: 'vpccni_add_network_duration_seconds',
    help: 'AddNetwork latency including any wait for pool growth (vpc-cni-ts)',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly delLatency = new Histogram({
    name: 'vpccni_del_network_duration_seconds',
    help: 'DelNetwork latency (vpc-cni-ts)',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  // Ours: the node gauges above broken down by managed network card (docs/architecture.md#network-cards).
  readonly cardEniMax = this.g('vpccni_network_card_eni_max', 'Maximum ENIs for pods on a network card', [
    'network_card',
  ]);
  readonly cardIpMax = this.g('vpccni_network_card_ip_max', 'Maximum IPs for pods on a network card', [
    'network_card',
  ]);
  readonly cardEniAllocated = this.g('vpccni_network_card_eni_allocated', 'ENIs in a card datastore', [
    'network_card',
  ]);
  readonly cardTotalIps = this.g('vpccni_network_card_total_ip_addresses', 'Addresses in a card datastore', [
    'network_card',
  ]);
  readonly cardAssignedIps = this.g(
    'vpccni_network_card_assigned_ip_addresses',
    'Addresses of a card assigned to pods',
    ['network_card'],
  );
  readonly cardTotalPrefixes = this.g(
    'vpccni_network_card_ipv4_prefixes',
    'IPv4 prefixes in a card datastore',
    ['network_card'],
  );
  /** The pool code's reports, into the upstream counters and gauges. */
  readonly pool: PoolObserver = {
    error: (fn) => this.errorCount.inc({ fn }),
    inProgress: (fn, delta) => this.actionInProgress.inc({ fn }, delta),
    reconciled: (fn, count) => {
      if (count > 0) this.reconcileCount.inc({ fn }, count);
    },
    forceRemoved: (enis, ips) => {
      if (enis > 0) this.forceRemovedEnis.inc(enis);
      if (ips > 0) this.forceRemovedIps.inc(ips);
    },
    utilsError: (fn, error) => this.awsUtilsErrorCount.inc({ fn, error }),
  };
  private knownEnis = new Set<string>();
  private knownCidrs = new Set<string>();

  constructor(version: string) {
    this.buildInfo.set({ version, goversion: `node${process.versions.node}` }, 1);
    this.connmarkReconcile.inc({ result: 'success' }, 0);
    this.connmarkReconcile.inc({ result: 'error' }, 0);
    collectDefaultMetrics({ register: this.registry, prefix: 'vpccni_' });
  }

  /**
   * Capacity of every managed card (card 0 included): per-card gauges, and the awscni_* node gauges as their
   * sums (on a single-card node exactly upstream's value).
   */
  setCapacity(cards: readonly CardCapacity[]): void {
    this.cardEniMax.reset();
    this.cardIpMax.reset();
    for (const c of cards) {
      this.cardEniMax.set({ network_card: String(c.card) }, c.enis);
      this.cardIpMax.set({ network_card: String(c.card) }, c.ips);
    }
    this.eniMax.set(cards.reduce((n, c) => n + c.enis, 0));
    this.ipMax.set(cards.reduce((n, c) => n + c.ips, 0));
  }

  /**
   * Pool gauges from the datastores (card 0, then the other managed network cards: the awscni_* gauges are node
   * totals, the vpccni_network_card_* ones per card); series of ENIs/CIDRs that left are removed.
   */
  refresh(ds: Datastore, others: readonly { card: number; ds: Datastore }[] = []): void {
    const cards = [{ card: 0, ds }, ...others];
    const all = cards.map((c) => c.ds);
    const stats = all.map((d) => d.stats());
    cards.forEach((c, i) => {
      const s = stats[i]!;
      const l = { network_card: String(c.card) };
      this.cardEniAllocated.set(l, c.ds.eniList().length);
      this.cardTotalIps.set(l, s.totalIPs);
      this.cardAssignedIps.set(l, s.assignedIPs);
      this.cardTotalPrefixes.set(l, s.totalPrefixes);
    });
    this.totalIps.set(stats.reduce((n, s) => n + s.totalIPs, 0));
    this.assignedIps.set(stats.reduce((n, s) => n + s.assignedIPs, 0));
    this.totalPrefixes.set(stats.reduce((n, s) => n + s.totalPrefixes, 0));
    const enis = all.flatMap((d) => d.eniList());
    this.eniAllocated.set(enis.length);
    const seenEnis = new Set<string>();
    const seenCidrs = new Set<string>();
    for (const eni of enis) {
      let n = 0;
      for (const cidr of eni.cidrs.values()) {
        let used = 0;
        for (const a of cidr.addresses.values()) if (a.key) used++;
        n += used;
        if (cidr.cidr.family === 4) {
          this.assignedPerCidr.set({ cidr: cidr.text }, used);
          seenCidrs.add(cidr.text);
        }
      }
      this.assignedPerEni.set({ eni: eni.id }, n);
      seenEnis.add(eni.id);
    }
    for (const id of this.knownEnis) if (!seenEnis.has(id)) this.assignedPerEni.remove({ eni: id });
    for (const c of this.knownCidrs) if (!seenCidrs.has(c)) this.assignedPerCidr.remove({ cidr: c });
    this.knownEnis = seenEnis;
    this.knownCidrs = seenCidrs;
  }
}

/** The /metrics handler: pool gauges refreshed from the datastore, then the registry in text format. */
export function metricsHandler(
  metrics: IpamdMetrics,
  ds: Datastore,
  others: () => readonly { card: number; ds: Datastore }[] = () => [],
) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    metrics.refresh(ds, others());
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  };
}
