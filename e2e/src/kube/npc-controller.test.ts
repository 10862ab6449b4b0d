// network-policy-controller against the API stand-in, through client-node as in a cluster: a policy and pods →
// PolicyEndpoints with the resolved content; a pod label change rewrites only the PE of the policy it affects;
// a restarted controller re-lists and writes nothing; a deleted policy takes its PEs with it.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { LeaderElector, PolicyController } from '@vpc-cni/network-policy-controller/controller';
import { silentLogger } from '@vpc-cni/shared/logging';
import { afterEach, describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { KubeApiSim } from './index.js';
import { allowedByRbac, usedBy } from './rbac.js';

const RBAC = () =>
  allowedByRbac(join(resolve(import.meta.dirname, '../../../deploy'), 'network-policy-controller.yaml'));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const pod = (name: string, ip: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'stars', labels },
  spec: {
    containers: [{ name: 'c', image: 'x', ports: [{ name: 'redis', containerPort: 6379, protocol: 'TCP' }] }],
  },
  status: { podIP: ip, hostIP: '10.0.0.10', phase: 'Running' },
});

const np = (name: string, spec: object) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'stars' },
  spec,
});

interface StoredPe extends KubernetesObject {
  spec: {
    policyRef: { name: string };
    podSelectorEndpoints?: { name: string }[];
    ingress?: { cidr: string; ports?: unknown[] }[];
  };
}

function setup() {
  return (async () => {
    const sim = await KubeApiSim.start();
    cleanups.push(() => sim.stop());
    sim.put('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'stars', labels: { 'kubernetes.io/metadata.name': 'stars' } },
    });
    sim.put('pods', pod('backend', '192.168.1.10', { role: 'backend' }), 'stars');
    sim.put('pods', pod('frontend', '192.168.1.20', { role: 'frontend' }), 'stars');
    sim.put('pods', pod('other', '192.168.1.30', { role: 'other' }), 'stars');
    sim.put(
      'networking.k8s.io/networkpolicies',
      np('backend-policy', {
        podSelector: { matchLabels: { role: 'backend' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { role: 'frontend' } } }],
            ports: [{ protocol: 'TCP', port: 'redis' }],
          },
        ],
      }),
      'stars',
    );
    sim.put(
      'networking.k8s.io/networkpolicies',
      np('default-deny', { podSelector: {}, policyTypes: ['Ingress'] }),
      'stars',
    );
    const newController = async () => {
      const c = new PolicyController({
        kc: sim.kubeconfig(),
        logger: silentLogger,
        chunkSize: 200,
        batchMs: 50,
      });
      await c.start();
      return c;
    };
    const pes = () =>
      sim.api.store.list('networking.k8s.aws/policyendpoints', 'stars') as unknown as StoredPe[];
    const peWrites = () =>
      sim.api.requests.filter(
        (r) => r.path.includes('/policyendpoints') && !['GET', 'WATCH'].includes(r.method),
      ).length;
    return { sim, newController, pes, peWrites };
  })();
}

describe('network-policy-controller against the API stand-in', () => {
  it('writes the resolved PEs, rewrites only the affected one on a label change, and nothing after a restart', async () => {
    const { sim, newController, pes, peWrites } = await setup();
    const c1 = await newController();
    cleanups.push(() => c1.stop());
    await until('two PEs', () => pes().length === 2);
    await c1.idle();
    const backend = pes().find((p) => p.spec.policyRef.name === 'backend-policy')!;
    expect(backend.metadata?.name).toMatch(/^backend-policy-[a-z0-9]+$/);
    expect(backend).toMatchObject({
      metadata: {
        annotations: {
          'networking.k8s.aws/last-change-trigger-time': expect.stringMatching(/^\d{4}-.*\.\d{9}Z$/),
        },
        ownerReferences: [
          {
            apiVersion: 'networking.k8s.io/v1',
            kind: 'NetworkPolicy',
            name: 'backend-policy',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        policyRef: { name: 'backend-policy', namespace: 'stars' },
        podIsolation: ['Ingress'],
        podSelectorEndpoints: [
          { name: 'backend', namespace: 'stars', podIP: '192.168.1.10', hostIP: '10.0.0.10' },
        ],
        ingress: [{ cidr: '192.168.1.20', ports: [{ protocol: 'TCP', port: 6379 }] }],
      },
    });
    const deny = pes().find((p) => p.spec.policyRef.name === 'default-deny')!;
    expect(deny.spec.podSelectorEndpoints?.map((p) => p.name)).toEqual(['backend', 'frontend', 'other']);
    expect(peWrites()).toBe(2);

    // "other" becomes a frontend: backend-policy gains a peer; default-deny (selects all pods) is unchanged.
    const core = sim.kubeconfig().makeApiClient(CoreV1Api);
    const denyVersion = deny.metadata?.resourceVersion;
    await core.patchNamespacedPod(
      { name: 'other', namespace: 'stars', body: { metadata: { labels: { role: 'frontend' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await until(
      'the new peer',
      () => (pes().find((p) => p.spec.policyRef.name === 'backend-policy')?.spec.ingress ?? []).length === 2,
    );
    await c1.idle();
    expect(peWrites()).toBe(3);
    expect(pes().find((p) => p.spec.policyRef.name === 'default-deny')?.metadata?.resourceVersion).toBe(
      denyVersion,
    );

    // Restart: re-list, converge, no writes.
    await c1.stop();
    const c2 = await newController();
    cleanups.push(() => c2.stop());
    await c2.idle();
    await new Promise((r) => setTimeout(r, 200));
    await c2.idle();
    expect(c2.writes.reconciles).toBeGreaterThanOrEqual(2);
    const text = await c2.metrics.registry.metrics();
    expect(text).toMatch(
      /network_policy_reconciliations_total\{policy_type="NetworkPolicy",result="success"\} [1-9]/,
    );
    expect(text).toMatch(/network_policy_objects_total\{policy_type="NetworkPolicy"\} 2/);
    expect(text).not.toMatch(/network_policy_endpoint_writes_total\{/);
    expect(peWrites()).toBe(3);

    // The policy goes: its PEs go with it.
    sim.api.store.delete('networking.k8s.io/networkpolicies', 'stars', 'backend-policy');
    await until('backend-policy PEs deleted', () =>
      pes().every((p) => p.spec.policyRef.name !== 'backend-policy'),
    );
    // Exactly what deploy/network-policy-controller.yaml grants: nothing missing, nothing spare.
    const own = sim.api.requests.filter((r) => !r.path.startsWith('/api/v1/namespaces/stars/pods/'));
    expect(usedBy(own)).toEqual(RBAC().filter((r) => !r.startsWith('coordination.k8s.io|')));
  });

  it('a policy created after start (seen by watch, in wire form) resolves its ingress peers', async () => {
    const { sim, newController, pes } = await setup();
    const c = await newController();
    cleanups.push(() => c.stop());
    await until('two PEs', () => pes().length === 2);
    sim.put(
      'networking.k8s.io/networkpolicies',
      np('from-frontend', {
        podSelector: { matchLabels: { role: 'other' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'frontend' } } }] }],
      }),
      'stars',
    );
    await until('its PE', () => pes().some((p) => p.spec.policyRef.name === 'from-frontend'));
    // Not 0.0.0.0/0 + ::/0 (a rule without peers): only the frontend pod.
    expect(pes().find((p) => p.spec.policyRef.name === 'from-frontend')?.spec.ingress).toEqual([
      { cidr: '192.168.1.20' },
    ]);
  });

  it('two candidates: one leads over the Lease, the other takes over once it stops renewing', async () => {
    const sim = await KubeApiSim.start();
    cleanups.push(() => sim.stop());
    const elector = (identity: string) =>
      new LeaderElector({
        kc: sim.kubeconfig(),
        logger: silentLogger,
        namespace: 'kube-system',
        name: 'amazon-network-policy-controller-k8s',
        identity,
        leaseDurationMs: 2000,
        retryMs: 100,
      });
    const a = elector('a');
    const b = elector('b');
    cleanups.push(async () => (a.stop(), b.stop()));
    const lost: string[] = [];
    await a.run(() => lost.push('a'));
    let bLeads = false;
    void b.run(() => lost.push('b')).then(() => (bLeads = b.isLeader));
    await new Promise((r) => setTimeout(r, 2500));
    expect([a.isLeader, bLeads]).toEqual([true, false]);
    a.stop();
    await until('b to take over', () => bLeads);
    const lease = sim.api.store.get(
      'coordination.k8s.io/leases',
      'kube-system',
      'amazon-network-policy-controller-k8s',
    ) as unknown as {
      spec: { holderIdentity: string; leaseTransitions: number };
    };
    expect(lease.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(lost).toEqual([]);
    expect(usedBy(sim.api.requests)).toEqual(RBAC().filter((r) => r.startsWith('coordination.k8s.io|')));
  });
});
