// A kubelet-like CRI client over @grpc/grpc-js: create, inspect, stop and remove pod sandboxes.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';

export interface SandboxStatus {
  id: string;
  ip: string;
  /** PID of the sandbox's pause process: /proc/<pid>/ns/net is the pod netns. */
  pid: number;
  netnsPath: string;
}

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (e: grpc.ServiceError | null, r: unknown) => void,
) => void;

export class CriClient {
  private readonly client: grpc.Client & Record<string, Unary>;

  constructor(socket: string) {
    const def = loader.loadSync(join(import.meta.dirname, 'cri.proto'), {
      keepCase: true,
      longs: Number,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      runtime: { v1: { RuntimeService: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client } };
    };
    this.client = new pkg.runtime.v1.RuntimeService(
      `unix://${socket}`,
      grpc.credentials.createInsecure(),
    ) as grpc.Client & Record<string, Unary>;
  }

  private call<T>(method: string, req: unknown, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) =>
      (this.client[method] as Unary).call(
        this.client,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (e, r) => (e ? reject(new Error(`CRI ${method}: ${e.details || e.message}`)) : resolve(r as T)),
      ),
    );
  }

  version(): Promise<{ runtime_name: string; runtime_version: string }> {
    return this.call('Version', { version: 'v1' });
  }

  async runPodSandbox(p: {
    name: string;
    namespace: string;
    uid: string;
    annotations?: Record<string, string>;
  }): Promise<string> {
    const r = await this.call<{ pod_sandbox_id: string }>('RunPodSandbox', {
      config: {
        metadata: { name: p.name, uid: p.uid, namespace: p.namespace, attempt: 0 },
        hostname: p.name,
        labels: { 'io.kubernetes.pod.name': p.name },
        annotations: p.annotations ?? {},
      },
    });
    return r.pod_sandbox_id;
  }

  async status(id: string): Promise<SandboxStatus> {
    const r = await this.call<{
      status: { id: string; network?: { ip: string } };
      info: Record<string, string>;
    }>('PodSandboxStatus', {
      pod_sandbox_id: id,
      verbose: true,
    });
    const info = JSON.parse(r.info['info'] ?? '{}') as {
      pid?: number;
      runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
    };
    const netns = info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path ?? '';
    return { id: r.status.id, ip: r.status.network?.ip ?? '', pid: info.pid ?? 0, netnsPath: netns };
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.call('StopPodSandbox', { pod_sandbox_id: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call('RemovePodSandbox', { pod_sandbox_id: id });
  }

  async listPodSandboxIds(): Promise<string[]> {
    const r = await this.call<{ items?: { id: string }[] }>('ListPodSandbox', {});
    return (r.items ?? []).map((i) => i.id);
  }

  close(): void {
    this.client.close();
  }
}
