// A Kubernetes API stand-in for the simulated node: nodes, pods, namespaces, events, ENIConfig, CNINode,
// SecurityGroupPolicy, served well enough for @kubernetes/client-node (get/list/watch/patch/create/delete).
import { writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeServer } from './server.js';
import type { Obj } from './store.js';

export { KubeServer, type RequestRecord } from './server.js';
export { KubeStore, KubeError, type Obj } from './store.js';
export { RESOURCES } from './resources.js';

export class KubeApiSim {
  private constructor(
    readonly api: KubeServer,
    readonly url: string,
  ) {}

  static async start(o: { port?: number } = {}): Promise<KubeApiSim> {
    const api = new KubeServer();
    return new KubeApiSim(api, await api.listen(o.port ?? 0));
  }

  /** A kubeconfig document pointing at the stand-in (plain HTTP, a dummy bearer token). */
  kubeconfigYaml(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      // Plain HTTP: client-node accepts it only with insecure-skip-tls-verify.
      'clusters: [{name: sim, cluster: {server: "' + this.url + '", insecure-skip-tls-verify: true}}]',
      'users: [{name: sim, user: {token: simulator-token}}]',
      'contexts: [{name: sim, context: {cluster: sim, user: sim}}]',
      'current-context: sim',
      '',
    ].join('\n');
  }

  kubeconfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYaml());
    return kc;
  }

  writeKubeconfig(path: string): string {
    writeFileSync(path, this.kubeconfigYaml());
    return path;
  }

  /** Direct store access for tests and the harness (no HTTP). */
  put(
    resource:
      | 'nodes'
      | 'pods'
      | 'namespaces'
      | 'crd.k8s.amazonaws.com/eniconfigs'
      | 'networking.k8s.aws/policyendpoints',
    obj: Obj,
    ns?: string,
  ): Obj {
    const key = resource.includes('/') ? resource : `/${resource}`;
    return this.api.store.create(key, ns, obj);
  }

  /** Forget watch history: watches from older resourceVersions get 410 Gone (and informers re-list). */
  compactHistory(): void {
    this.api.store.compact();
  }

  /** Drop open watches as an API server restart would; data stays. */
  restart(): void {
    this.api.dropWatches();
  }

  /** The API server goes away (connections refused); `up()` brings it back on the same address, data kept. */
  down(): Promise<void> {
    return this.api.close();
  }

  async up(): Promise<void> {
    await this.api.listen(Number(new URL(this.url).port));
  }

  stop(): Promise<void> {
    return this.api.close();
  }
}
