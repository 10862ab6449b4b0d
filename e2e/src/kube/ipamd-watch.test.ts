// ipamd's watches against the stand-in, through a kubeconfig as ipamd reads it: this node's pods come from the
// cache (no GET per lookup), a pod the cache lacks is read from the API, deletions are reported; the cache
// survives an API restart, 410 Gone and the API server being away for a while; SecurityGroupPolicies are
// matched from their cache and follow changes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { K8sPodCache, K8sSgpSource, kubeApis } from '@vpc-cni/ipamd/k8s';
import { silentLogger } from '@vpc-cni/shared/logging';
import { KubeApiSim } from './index.js';

// kubeconfigs; removed after the file's tests also when one failed (a process 'exit' handler never ran in vitest's
// workers)
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vct-kube-watch-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const retryMs = { first: 50, max: 200 };

async function start(port?: number) {
  const sim = await KubeApiSim.start(port ? { port } : {});
  const apis = kubeApis({ KUBECONFIG: sim.writeKubeconfig(join(dir, `kubeconfig-${Date.now()}`)) });
  return { sim, apis };
}

const pod = (name: string, node: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  spec: { nodeName: node, containers: [{ name: 'c' }] },
});

async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** node-a's pod cache, started, with the deletions it reported. */
async function podCache(apis: ReturnType<typeof kubeApis>) {
  const cache = new K8sPodCache(apis, 'node-a', silentLogger, retryMs);
  cleanups.push(() => cache.stop());
  const deleted: string[] = [];
  cache.onDelete((ns, name) => deleted.push(`${ns}/${name}`));
  await cache.start();
  return { cache, deleted };
}

const podGets = (sim: KubeApiSim) =>
  sim.api.requests.filter((r) => r.method === 'GET' && /\/pods\/[^/]+$/.test(r.path)).length;

describe('ipamd watches', () => {
  it("this node's pods come from the cache; others and new ones from the API; deletions are reported", async () => {
    const { sim, apis } = await start();
    cleanups.push(() => sim.stop());
    sim.put('pods', pod('a1', 'node-a', { role: 'x' }), 'shop');
    sim.put('pods', pod('b1', 'node-b'), 'shop');
    const { cache, deleted } = await podCache(apis);
    expect(cache.healthy).toBe(true);

    expect(await cache.pod('shop', 'a1')).toMatchObject({ labels: { role: 'x' }, cached: true });
    expect(podGets(sim)).toBe(0);
    // Not this node's: not in the cache, read from the API.
    expect(await cache.pod('shop', 'b1')).toMatchObject({ wantsBranchEni: false });
    expect((await cache.pod('shop', 'b1'))?.cached).toBeUndefined();
    expect(podGets(sim)).toBe(2);
    expect(await cache.pod('shop', 'nope')).toBeUndefined();
    // A fresh read goes to the API even for a cached pod.
    expect((await cache.pod('shop', 'a1', { fresh: true }))?.cached).toBeUndefined();

    sim.put('pods', pod('a2', 'node-a'), 'shop');
    await until('a2 in the cache', async () => (await cache.pod('shop', 'a2'))?.cached === true);
    await apis.core.deleteNamespacedPod({ namespace: 'shop', name: 'a1' });
    await until('a1 reported deleted', () => deleted.includes('shop/a1'));
    expect(deleted).toEqual(['shop/a1']);
  });

  it('survives an API restart and 410 Gone: re-lists, reports what went away meanwhile', async () => {
    const { sim, apis } = await start();
    cleanups.push(() => sim.stop());
    sim.put('pods', pod('a1', 'node-a'), 'shop');
    sim.put('pods', pod('a2', 'node-a'), 'shop');
    const { cache, deleted } = await podCache(apis);
    sim.restart(); // watches dropped: resumed from the last resourceVersion
    sim.put('pods', pod('a3', 'node-a'), 'shop');
    await until('a3 after the restart', async () => (await cache.pod('shop', 'a3'))?.cached === true);
    sim.compactHistory();
    sim.restart(); // resumes from an expired resourceVersion: 410 Gone, re-list
    await apis.core.deleteNamespacedPod({ namespace: 'shop', name: 'a2' });
    await until('a2 gone after the re-list', () => deleted.includes('shop/a2'));
    expect((await cache.pod('shop', 'a1'))?.cached).toBe(true);
    expect(cache.healthy).toBe(true);
  });

  it('while the API server is away, reads go to the API (and fail); the watch comes back by itself', async () => {
    const { sim, apis } = await start();
    cleanups.push(() => sim.stop());
    sim.put('pods', pod('old', 'node-a'), 'shop');
    const { cache, deleted } = await podCache(apis);
    expect((await cache.pod('shop', 'old'))?.cached).toBe(true);

    await sim.down();
    await until('the cache to notice', () => !cache.healthy);
    await expect(cache.pod('shop', 'old')).rejects.toThrow();
    // Changes made meanwhile (straight into the store) are seen once the API server is back.
    sim.put('pods', pod('new', 'node-a'), 'shop');
    sim.api.store.delete('/pods', 'shop', 'old');
    await new Promise((r) => setTimeout(r, 300)); // a few failed retries
    await sim.up();
    await until('the watch to resume', () => cache.healthy);
    await until('the new pod', async () => (await cache.pod('shop', 'new'))?.cached === true);
    await until('the old pod reported gone', () => deleted.includes('shop/old'));
  });

  it('SecurityGroupPolicies are matched from their cache (one list), and follow changes', async () => {
    const { sim, apis } = await start();
    cleanups.push(() => sim.stop());
    const policy = (name: string, role: string, groups: string[]) =>
      sim.api.store.create('vpcresources.k8s.aws/securitygrouppolicies', 'shop', {
        metadata: { name, namespace: 'shop' },
        spec: { podSelector: { matchLabels: { role } }, securityGroups: { groupIds: groups } },
      });
    policy('web', 'web', ['sg-1']);
    const source = new K8sSgpSource(apis, { logger: silentLogger, retryMs });
    cleanups.push(() => source.stop());
    await source.start();
    const id = (role: string, namespace = 'shop') => ({
      namespace,
      labels: { role },
      serviceAccountName: '',
    });
    for (let i = 0; i < 5; i++) expect((await source.match(id('web'))).groups).toEqual(['sg-1']);
    expect((await source.match(id('web', 'other'))).groups).toEqual([]);
    policy('web-extra', 'web', ['sg-2']);
    await until('the new policy', async () => (await source.match(id('web'))).groups.length === 2);
    expect(await source.match(id('web'))).toEqual({
      policies: ['web', 'web-extra'],
      groups: ['sg-1', 'sg-2'],
    });
    const lists = sim.api.requests.filter(
      (r) => r.method === 'GET' && r.path.includes('securitygrouppolicies'),
    ).length;
    expect(lists).toBe(1);
  });
});
