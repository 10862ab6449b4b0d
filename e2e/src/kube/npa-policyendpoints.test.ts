// aws-network-policy-agent's Kubernetes side against the stand-in, through a kubeconfig as the agent reads it:
// PolicyEndpoints written with @kubernetes/client-node reach the agent's source (initial list, create, update,
// delete, across an API restart); a malformed one is refused with a Warning event on it; the node's pod labels (strict
// mode) come from a list + watch of its pods; the requests it makes
// are exactly what deploy/rbac-network-policy-agent.yaml grants; deploy/crds/policyendpoints.yaml names the
// resource the stand-in serves.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  PodLabelSource,
  PolicyEndpointSource,
  agentKube,
  kubeEventRecorder,
  type PolicyEndpoint,
} from '@vpc-cni/network-policy-agent/k8s';
import { silentLogger } from '@vpc-cni/shared/logging';
import { KubeApiSim, RESOURCES } from './index.js';
import { allowedByRbac, usedBy } from './rbac.js';

// kubeconfigs; removed after the file's tests also when one failed (a process 'exit' handler never ran in vitest's
// workers)
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vct-npa-pe-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const DEPLOY = resolve(import.meta.dirname, '../../../deploy');

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const pe = (name: string, policy: string, cidr: string) => ({
  apiVersion: 'networking.k8s.aws/v1alpha1',
  kind: 'PolicyEndpoint',
  metadata: {
    name,
    namespace: 'shop',
    annotations: { 'networking.k8s.aws/last-change-trigger-time': new Date().toISOString() },
  },
  spec: {
    policyRef: { name: policy, namespace: 'shop' },
    podIsolation: ['Ingress'],
    podSelectorEndpoints: [{ hostIP: '10.0.0.10', podIP: '10.0.1.5', name: 'web-1', namespace: 'shop' }],
    ingress: [{ cidr, except: [], ports: [{ protocol: 'TCP', port: 80 }] }],
  },
});

async function start() {
  const sim = await KubeApiSim.start();
  cleanups.push(() => sim.stop());
  const kube = agentKube('', { KUBECONFIG: sim.writeKubeconfig(join(dir, `kc-${Date.now()}`)) });
  const seen = new Map<string, PolicyEndpoint>();
  const refused: string[] = [];
  const events = kubeEventRecorder(kube, 'node-a', silentLogger);
  const source = new PolicyEndpointSource(kube, silentLogger, {
    upsert: (p) => seen.set(`${p.namespace}/${p.name}`, p),
    remove: (ns, name) => seen.delete(`${ns}/${name}`),
    refused: (ns, name, reason) => {
      refused.push(`${ns}/${name}: ${reason}`);
      events.warn(ns, name, 'MalformedPolicyEndpoint', reason);
    },
  });
  cleanups.push(() => source.stop());
  return { sim, kube, seen, refused, source };
}

describe('aws-network-policy-agent and PolicyEndpoints in the API stand-in', () => {
  it('lists, follows creates, updates and deletes, and survives an API restart', async () => {
    const { sim, kube, seen, source } = await start();
    sim.put('networking.k8s.aws/policyendpoints', pe('allow-web-abcde', 'allow-web', '10.0.2.0/24'), 'shop');
    await source.start();
    expect(source.healthy).toBe(true);
    expect(seen.get('shop/allow-web-abcde')).toMatchObject({
      policy: 'shop/allow-web',
      podIsolation: ['Ingress'],
      pods: [{ name: 'web-1', hostIP: '10.0.0.10' }],
      ingress: [{ cidr: '10.0.2.0/24', ports: [{ protocol: 'TCP', port: 80 }] }],
    });
    const api = {
      group: 'networking.k8s.aws',
      version: 'v1alpha1',
      plural: 'policyendpoints',
      namespace: 'shop',
    };
    await kube.custom.createNamespacedCustomObject({
      ...api,
      body: pe('allow-web-fghij', 'allow-web', '10.0.3.0/24'),
    });
    await until('the created PE', () => seen.has('shop/allow-web-fghij'));
    await kube.custom.patchNamespacedCustomObject({
      ...api,
      name: 'allow-web-fghij',
      body: [{ op: 'replace', path: '/spec/ingress', value: [{ cidr: '10.0.4.0/24' }] }],
    });
    await until('the patched PE', () => seen.get('shop/allow-web-fghij')?.ingress[0]?.cidr === '10.0.4.0/24');
    sim.restart();
    await kube.custom.deleteNamespacedCustomObject({ ...api, name: 'allow-web-abcde' });
    await until('the deletion', () => !seen.has('shop/allow-web-abcde'));
    expect([...seen.keys()]).toEqual(['shop/allow-web-fghij']);
  });

  it('a malformed PolicyEndpoint is refused whole, with a Warning event on it naming the field', async () => {
    const { sim, kube, seen, refused, source } = await start();
    await source.start();
    const api = {
      group: 'networking.k8s.aws',
      version: 'v1alpha1',
      plural: 'policyendpoints',
      namespace: 'shop',
    };
    await kube.custom.createNamespacedCustomObject({ ...api, body: pe('p-abcde', 'p', '10.0.2.0/24') });
    await until('the good PE', () => seen.has('shop/p-abcde'));
    const bad = pe('p-abcde', 'p', '10.0.2.0/24') as { metadata: object; spec: Record<string, unknown> };
    bad.spec['podSelectorEndpoints'] = [{ name: 'web-1', namespace: 'shop' }];
    await kube.custom.replaceNamespacedCustomObject({
      ...api,
      name: 'p-abcde',
      body: bad,
    });
    await until('the refusal', () => refused.length > 0);
    expect(seen.has('shop/p-abcde')).toBe(false); // the earlier good version is dropped too
    expect(refused[0]).toMatch(/^shop\/p-abcde: spec\.podSelectorEndpoints\.0\.hostIP: Required/);
    await until('the event', () => sim.api.store.list('/events', 'shop').length > 0);
    const [ev] = sim.api.store.list('/events', 'shop') as unknown as {
      type: string;
      reason: string;
      involvedObject: { kind: string; name: string };
    }[];
    expect(ev).toMatchObject({
      type: 'Warning',
      reason: 'MalformedPolicyEndpoint',
      involvedObject: { kind: 'PolicyEndpoint', name: 'p-abcde' },
    });
  });

  it('deploy/rbac-network-policy-agent.yaml grants exactly what the agent asks; the CRD names the served resource', async () => {
    const { sim, kube, source, refused } = await start();
    sim.put('networking.k8s.aws/policyendpoints', pe('q-abcde', 'q', 'not-a-cidr'), 'shop');
    await source.start();
    await kube.custom.getNamespacedCustomObject({
      group: 'networking.k8s.aws',
      version: 'v1alpha1',
      plural: 'policyendpoints',
      namespace: 'shop',
      name: 'q-abcde',
    });
    kubeEventRecorder(kube, 'node-a', silentLogger).warn('shop', 'q-abcde', 'TooManyPortEntries', 'x');
    await until('the event', () => sim.api.store.list('/events', 'shop').length > 0);
    // Strict mode: the labels of the node's pods, from a list + watch of pods with spec.nodeName.
    sim.put(
      'pods',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web-1', namespace: 'shop', labels: { role: 'web' } },
        spec: { nodeName: 'node-a' },
      },
      'shop',
    );
    sim.put(
      'pods',
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'far-1', namespace: 'shop', labels: { role: 'far' } },
        spec: { nodeName: 'node-b' },
      },
      'shop',
    );
    const changed: string[] = [];
    const pods = new PodLabelSource(kube, 'node-a', silentLogger, (ns, name) =>
      changed.push(`${ns}/${name}`),
    );
    cleanups.push(() => pods.stop());
    await pods.start();
    expect(pods.labels('shop', 'web-1')).toEqual({ role: 'web' });
    expect(pods.labels('shop', 'far-1')).toBeUndefined();
    expect(changed).toEqual(['shop/web-1']);
    expect(refused).toEqual([]);
    expect(usedBy(sim.api.requests)).toEqual(allowedByRbac(join(DEPLOY, 'rbac-network-policy-agent.yaml')));
    const crd = parse(readFileSync(join(DEPLOY, 'crds/policyendpoints.yaml'), 'utf8')) as {
      spec: {
        group: string;
        scope: string;
        names: { kind: string; plural: string };
        versions: { name: string }[];
      };
    };
    const served = RESOURCES.find((r) => r.plural === 'policyendpoints')!;
    expect({
      group: crd.spec.group,
      version: crd.spec.versions[0]!.name,
      plural: crd.spec.names.plural,
      kind: crd.spec.names.kind,
      namespaced: crd.spec.scope === 'Namespaced',
    }).toEqual(served);
  });
});
