// grpc.health.v1 service state: a status per service name, and the Check and Watch calls over it.
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from './gen/health.js';
import { GrpcStatus, RpcError } from './status.js';

export { ServingStatus };

export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<{ service: string; push: (s: ServingStatus) => void }>();

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const w of this.watchers) if (w.service === service) w.push(status);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Check: the service's status, NOT_FOUND for a service never set (as grpc-go's health server). */
  check = async (request: HealthCheckRequest): Promise<HealthCheckResponse> => {
    const status = this.statuses.get(request.service);
    if (status === undefined)
      throw new RpcError(GrpcStatus.NOT_FOUND, `unknown service "${request.service}"`, 'Health/Check');
    return { status };
  };

  /** Watch: the current status at once (SERVICE_UNKNOWN if never set), then every change; returns the stop. */
  watch = (request: HealthCheckRequest, send: (reply: HealthCheckResponse) => void): (() => void) => {
    const watcher = { service: request.service, push: (status: ServingStatus) => send({ status }) };
    watcher.push(this.statuses.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN);
    this.watchers.add(watcher);
    return () => void this.watchers.delete(watcher);
  };
}
