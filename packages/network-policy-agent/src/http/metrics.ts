// Prometheus metrics with upstream's names, types and labels (package README "Metrics").
import { Counter, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';

const programmingBuckets = (): number[] => {
  const b = [0.25, 0.5];
  for (let s = 1; s <= 59; s++) b.push(s);
  for (let s = 60; s <= 115; s += 5) b.push(s);
  for (let s = 120; s <= 300; s += 30) b.push(s);
  return b;
};

export class AgentMetrics {
  readonly registry = new Registry();
  readonly dropCount = new Counter({
    name: 'network_policy_drop_count_total',
    help: 'Denied flows seen in policy events',
    labelNames: ['direction'],
    registers: [this.registry],
  });
  readonly dropBytes = new Counter({
    name: 'network_policy_drop_bytes_total',
    help: 'Bytes of the packets of denied flows seen in policy events',
    labelNames: ['direction'],
    registers: [this.registry],
  });
  readonly ebpfLatency = new Summary({
    name: 'awsnodeagent_aws_ebpf_sdk_latency_ms',
    help: 'eBPF operation latency in ms',
    labelNames: ['api', 'error'],
    percentiles: [0.5, 0.9, 0.99],
    registers: [this.registry],
  });
  readonly ebpfErrors = new Counter({
    name: 'awsnodeagent_aws_ebpfsdk_error_count',
    help: 'eBPF operation errors',
    labelNames: ['fn'],
    registers: [this.registry],
  });
  readonly setupLatency = new Summary({
    name: 'awsnodeagent_policy_setup_latency_ms',
    help: 'PolicyEndpoint reconcile duration in ms',
    labelNames: ['name', 'namespace'],
    percentiles: [0.5, 0.9, 0.99],
    registers: [this.registry],
  });
  readonly teardownLatency = new Summary({
    name: 'awsnodeagent_policy_teardown_latency_ms',
    help: 'PolicyEndpoint clean-up duration in ms',
    labelNames: ['name', 'namespace'],
    percentiles: [0.5, 0.9, 0.99],
    registers: [this.registry],
  });
  readonly programmingLatency = new Histogram({
    name: 'awsnodeagent_policy_programming_latency_seconds',
    help: 'Time from the PolicyEndpoint change (networking.k8s.aws/last-change-trigger-time) to programmed maps',
    buckets: programmingBuckets(),
    registers: [this.registry],
  });
  readonly clusterProgrammingLatency = new Histogram({
    name: 'awsnodeagent_cluster_policy_programming_latency_seconds',
    help: 'Same for ClusterPolicyEndpoints',
    buckets: programmingBuckets(),
    registers: [this.registry],
  });
  readonly compileIssues = new Counter({
    name: 'vpccni_npa_compile_issues_total',
    help: 'Rules the agent could not enforce as written, by kind (vpc-cni-ts; see the Warning events)',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  private readonly seenChangeTimes = new Set<string>();

  constructor(private readonly startedAt = Date.now()) {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Once per annotation value, only for changes newer than the agent's start. */
  programmed(changeTime: string | undefined, now = Date.now()): void {
    if (!changeTime || this.seenChangeTimes.has(changeTime)) return;
    const t = Date.parse(changeTime);
    if (!Number.isFinite(t) || t < this.startedAt) return;
    this.seenChangeTimes.add(changeTime);
    if (this.seenChangeTimes.size > 10_000) this.seenChangeTimes.clear();
    this.programmingLatency.observe(Math.max(0, (now - t) / 1000));
  }
}
