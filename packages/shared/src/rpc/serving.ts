// Whether ipamd is up: one grpc.health.v1 Check over a fresh connection. Used by whatever waits for an
// aws-k8s-agent to start (the aws-vpc-cni entrypoint, the test harness, the benchmarks); each keeps its own budget.
import { HealthCheckResponse_ServingStatus as ServingStatus } from './gen/health.js';
import { RpcClient } from './client.js';
import { Health } from './services.js';

/** The health service name ipamd registers (as upstream's). */
export const IPAMD_HEALTH_SERVICE = 'grpc.health.v1.aws-node';

/** True when `service` on `endpoint` answers SERVING; false when it answers otherwise or nothing answers in time. */
export async function isServing(
  endpoint: string,
  deadlineMs: number,
  service: string = IPAMD_HEALTH_SERVICE,
): Promise<boolean> {
  const c = new RpcClient({ endpoint, deadlineMs });
  try {
    return (await c.call(Health.Check, { service })).status === ServingStatus.SERVING;
  } catch {
    return false; // not listening yet
  } finally {
    c.close();
  }
}
