// Controller metrics (names as upstream's controller), served in Prometheus text on --metrics-bind-addr.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { parseBindAddr } from './health.js';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciliations = new Counter({
    name: 'network_policy_reconciliations_total',
    help: 'Policy reconciles, by policy type and result (success, error).',
    labelNames: ['policy_type', 'result'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'network_policy_reconcile_duration_seconds',
    help: 'Time to reconcile one policy (resolve, plan, writes).',
    labelNames: ['policy_type'] as const,
    registers: [this.registry],
  });
  readonly objects = new Gauge({
    name: 'network_policy_objects_total',
    help: 'Policies the controller currently follows.',
    labelNames: ['policy_type'] as const,
    registers: [this.registry],
  });
  readonly writes = new Counter({
    name: 'network_policy_endpoint_writes_total',
    help: 'PolicyEndpoint writes, by operation (create, patch, delete).',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
}

export async function serveMetrics(addr: string, m: ControllerMetrics): Promise<Server> {
  const { host, port } = parseBindAddr(addr);
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.statusCode = 404;
      res.end('not found\n');
      return;
    }
    void m.registry.metrics().then((text) => {
      res.setHeader('Content-Type', m.registry.contentType);
      res.end(text);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
