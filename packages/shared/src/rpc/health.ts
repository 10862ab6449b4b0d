// grpc.health.v1 service state: a status per service name, Check and Watch handlers for grpc-js.
import type { ServerWritableStream, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from './gen/health.js';
import { GrpcStatus } from './status.js';

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

  /** grpc-js handlers for the Health service. */
  handlers() {
    return {
      Check: (
        call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
        cb: sendUnaryData<HealthCheckResponse>,
      ) => {
        const status = this.statuses.get(call.request.service);
        if (status === undefined)
          cb({ code: GrpcStatus.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        else cb(null, { status });
      },
      Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        const service = call.request.service;
        const watcher = { service, push: (status: ServingStatus) => call.write({ status }) };
        watcher.push(this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
        this.watchers.add(watcher);
        call.on('cancelled', () => this.watchers.delete(watcher));
        call.on('close', () => this.watchers.delete(watcher));
      },
    };
  }
}
