// The Kubernetes stand-in judged by @kubernetes/client-node: get/list/patch (all three patch types), field and
// label selectors, CRD CRUD, conflicts and not-found as Status objects, watches in order, and an informer that
// re-lists after 410 Gone and after an API restart. A property: resourceVersions only grow, and a watch from any
// retained version replays exactly the later events.
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  type V1Pod,
  Watch,
  makeInformer,
  setHeaderOptions,
} from '@kubernetes/client-node';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeApiSim } from './index.js';

let sim: KubeApiSim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function start() {
  sim = await KubeApiSim.start();
  const kc = sim.kubeconfig();
  return { sim, kc, core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

const pod = (name: string, node: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, namespace: 'default', labels },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'pause' }] },
});

describe('Kubernetes API stand-in with client-node', () => {
  it('nodes: get, list, and label/annotation patches of all three kinds', async () => {
    const { core } = await start();
    await core.createNode({ body: { metadata: { name: 'node-a', labels: { zone: 'a' } } } });
    const merge = await core.patchNode(
      { name: 'node-a', body: { metadata: { labels: { 'k8s.amazonaws.com/eniConfig': 'us-west-2a' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merge.metadata?.labels).toEqual({ zone: 'a', 'k8s.amazonaws.com/eniConfig': 'us-west-2a' });
    await core.patchNode(
      { name: 'node-a', body: { metadata: { annotations: { note: 'x' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const json = await core.patchNode(
      { name: 'node-a', body: [{ op: 'remove', path: '/metadata/labels/zone' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(json.metadata?.labels).toEqual({ 'k8s.amazonaws.com/eniConfig': 'us-west-2a' });
    expect(json.metadata?.annotations).toEqual({ note: 'x' });
    expect((await core.readNode({ name: 'node-a' })).metadata?.resourceVersion).toBe(
      json.metadata?.resourceVersion,
    );
    expect(
      (await core.listNode({ labelSelector: 'k8s.amazonaws.com/eniConfig=us-west-2a' })).items,
    ).toHaveLength(1);
    expect((await core.listNode({ labelSelector: 'zone=a' })).items).toHaveLength(0);
  });

  it('pods: fieldSelector spec.nodeName, 404 and 409 as Status objects', async () => {
    const { core } = await start();
    for (const [n, node] of [
      ['a1', 'node-a'],
      ['a2', 'node-a'],
      ['b1', 'node-b'],
    ] as const)
      await core.createNamespacedPod({ namespace: 'default', body: pod(n, node) });
    const onA = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-a' });
    expect(onA.items.map((p) => p.metadata?.name).sort()).toEqual(['a1', 'a2']);
    await expect(core.readNamespacedPod({ name: 'nope', namespace: 'default' })).rejects.toMatchObject({
      code: 404,
    });
    await expect(
      core.createNamespacedPod({ namespace: 'default', body: pod('a1', 'node-a') }),
    ).rejects.toMatchObject({
      code: 409,
    });
    const stale = await core.readNamespacedPod({ name: 'a1', namespace: 'default' });
    await core.replaceNamespacedPod({ name: 'a1', namespace: 'default', body: stale });
    await expect(
      core.replaceNamespacedPod({ name: 'a1', namespace: 'default', body: stale }),
    ).rejects.toMatchObject({
      code: 409,
    });
  });

  it('ENIConfig and CNINode through CustomObjectsApi', async () => {
    const { custom } = await start();
    const g = { group: 'crd.k8s.amazonaws.com', version: 'v1alpha1', plural: 'eniconfigs' };
    await custom.createClusterCustomObject({
      ...g,
      body: {
        apiVersion: 'crd.k8s.amazonaws.com/v1alpha1',
        kind: 'ENIConfig',
        metadata: { name: 'us-west-2a' },
        spec: { subnet: 'subnet-1', securityGroups: ['sg-1'] },
      },
    });
    const got = (await custom.getClusterCustomObject({ ...g, name: 'us-west-2a' })) as {
      spec: { subnet: string };
    };
    expect(got.spec.subnet).toBe('subnet-1');
    const list = (await custom.listClusterCustomObject(g)) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
    await custom.deleteClusterCustomObject({ ...g, name: 'us-west-2a' });
    await expect(custom.getClusterCustomObject({ ...g, name: 'us-west-2a' })).rejects.toMatchObject({
      code: 404,
    });
    const c = { group: 'vpcresources.k8s.aws', version: 'v1alpha1', plural: 'cninodes' };
    await custom.createClusterCustomObject({
      ...c,
      body: { metadata: { name: 'node-a' }, spec: { features: [] } },
    });
    const patched = (await custom.patchClusterCustomObject(
      { ...c, name: 'node-a', body: { spec: { features: [{ name: 'SecurityGroupsForPods' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as { spec: { features: { name: string }[] } };
    expect(patched.spec.features).toEqual([{ name: 'SecurityGroupsForPods' }]);
  });

  it('a watch delivers ADDED, MODIFIED, DELETED in order for its node only', async () => {
    const { core, kc } = await start();
    const seen: string[] = [];
    const ctl = await new Watch(kc).watch(
      '/api/v1/pods',
      { fieldSelector: 'spec.nodeName=node-a' },
      (type, obj: V1Pod) => seen.push(`${type} ${obj.metadata?.name}`),
      () => undefined,
    );
    await core.createNamespacedPod({ namespace: 'default', body: pod('w1', 'node-a') });
    await core.createNamespacedPod({ namespace: 'default', body: pod('other', 'node-b') });
    await core.patchNamespacedPod(
      { name: 'w1', namespace: 'default', body: { metadata: { labels: { x: 'y' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedPod({ name: 'w1', namespace: 'default' });
    for (let i = 0; i < 50 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    ctl.abort();
    expect(seen).toEqual(['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
  });

  it('an informer re-lists after 410 Gone and after an API restart, and ends with the right cache', async () => {
    const { core, kc, sim: s } = await start();
    const informer = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
    await informer.start();
    await core.createNamespacedPod({ namespace: 'default', body: pod('i1', 'node-a') });
    const names = () =>
      informer
        .list()
        .map((p) => p.metadata?.name)
        .sort();
    const until = async (want: string[]) => {
      for (let i = 0; i < 200 && JSON.stringify(names()) !== JSON.stringify(want); i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(names()).toEqual(want);
    };
    await until(['i1']);
    s.restart(); // watch dropped: the informer reconnects from its last resourceVersion
    await core.createNamespacedPod({ namespace: 'default', body: pod('i2', 'node-a') });
    await until(['i1', 'i2']);
    s.compactHistory();
    s.restart(); // reconnects with an expired resourceVersion: 410, re-list
    await core.deleteNamespacedPod({ name: 'i1', namespace: 'default' });
    await core.createNamespacedPod({ namespace: 'default', body: pod('i3', 'node-b') });
    await until(['i2', 'i3']);
    await informer.stop();
    // The first watch, the reconnect after the restart, and the one after 410 Gone.
    expect(s.api.requests.filter((r) => r.method === 'WATCH').length).toBeGreaterThanOrEqual(3);
  });

  it('property: resourceVersions grow; a watch from any retained version replays exactly the later events', async () => {
    const { sim: s } = await start();
    const store = s.api.store;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('c', 'u', 'd'), fc.integer({ min: 0, max: 4 })), { maxLength: 40 }),
        (ops) => {
          let last = store.currentRv;
          for (const [op, i] of ops) {
            const name = `p${i}`;
            try {
              if (op === 'c') store.create('/pods', 'default', { metadata: { name } });
              else if (op === 'u')
                store.update('/pods', 'default', name, { metadata: { name }, spec: { n: Math.random() } });
              else store.delete('/pods', 'default', name);
            } catch {
              continue; // not found / exists: no write, no version
            }
            expect(store.currentRv).toBeGreaterThan(last);
            last = store.currentRv;
          }
          const from = store.history[Math.floor(store.history.length / 2)]?.rv ?? store.currentRv;
          const replay = store.history.filter((e) => e.rv > from).map((e) => e.rv);
          expect(replay).toEqual([...replay].sort((a, b) => a - b));
          expect(replay.every((rv) => rv > from && rv <= store.currentRv)).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });
});
