// Security groups for pods, compatible path, against the stand-in through a kubeconfig as ipamd reads it: pods
// are read (branch or not, UID, the pod-eni annotation) and the SecurityGroupsForPods feature is added to the
// node's CNINode with an optimistic lock; self-managed branch ENIs match SecurityGroupPolicies and write the
// annotation; the pod and policy watches. Then deploy/rbac.yaml is checked both ways against everything ipamd
// asked for in this file's flows (ENIConfig lookup included).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addCniNodeFeature,
  CNINODE,
  K8sEniConfigSource,
  K8sPodCache,
  K8sPodLookup,
  K8sSgpSource,
  kubeApis,
  podWarning,
  setPodEniAnnotation,
} from '@vpc-cni/ipamd/k8s';
import { silentLogger } from '@vpc-cni/shared/logging';
import { KubeApiSim } from './index.js';
import { allowedByRbac, usedBy } from './rbac.js';

let sim: KubeApiSim | undefined;
// kubeconfigs; removed after the file's tests also when one failed (a process 'exit' handler never ran in vitest's
// workers)
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vct-kube-sgp-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function start() {
  sim = await KubeApiSim.start();
  return kubeApis({ KUBECONFIG: sim.writeKubeconfig(join(dir, `kubeconfig-${Date.now()}`)) });
}

const podEni =
  '[{"eniId":"eni-0br","ifAddress":"02:aa:00:00:00:01","privateIp":"10.0.40.17","vlanId":2,"subnetCidr":"10.0.32.0/19"}]';

async function podFlow(apis: ReturnType<typeof kubeApis>, s: KubeApiSim) {
  s.put(
    'pods',
    {
      metadata: { name: 'web', annotations: { 'vpc.amazonaws.com/pod-eni': podEni } },
      spec: {
        nodeName: 'node-a',
        containers: [{ name: 'c', resources: { limits: { 'vpc.amazonaws.com/pod-eni': '1', cpu: '1' } } }],
      },
    },
    'shop',
  );
  s.put(
    'pods',
    { metadata: { name: 'plain' }, spec: { nodeName: 'node-a', containers: [{ name: 'c' }] } },
    'shop',
  );
  const lookup = new K8sPodLookup(apis);
  return {
    web: await lookup.pod('shop', 'web'),
    plain: await lookup.pod('shop', 'plain'),
    gone: await lookup.pod('shop', 'gone'),
  };
}

/** Self-managed branch ENIs: policies matched by pod and service-account labels, annotation written, event. */
async function selfManagedFlow(apis: ReturnType<typeof kubeApis>, s: KubeApiSim) {
  const sgp = (name: string, spec: Record<string, unknown>) =>
    s.api.store.create('vpcresources.k8s.aws/securitygrouppolicies', 'shop', {
      metadata: { name, namespace: 'shop' },
      spec,
    });
  sgp('by-pod', {
    podSelector: { matchLabels: { role: 'test-role' } },
    securityGroups: { groupIds: ['sg-1'] },
  });
  sgp('by-sa', {
    serviceAccountSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['pay'] }] },
    securityGroups: { groupIds: ['sg-2', 'sg-1'] },
  });
  sgp('no-selector', { securityGroups: { groupIds: ['sg-9'] } });
  s.api.store.create('/serviceaccounts', 'shop', { metadata: { name: 'payer', labels: { team: 'pay' } } });
  s.put(
    'pods',
    { metadata: { name: 'api' }, spec: { nodeName: 'node-a', containers: [{ name: 'c' }] } },
    'shop',
  );
  const source = new K8sSgpSource(apis);
  const matches = {
    podOnly: await source.match({
      namespace: 'shop',
      labels: { role: 'test-role' },
      serviceAccountName: 'default',
    }),
    both: await source.match({
      namespace: 'shop',
      labels: { role: 'test-role' },
      serviceAccountName: 'payer',
    }),
    none: await source.match({ namespace: 'shop', labels: {}, serviceAccountName: 'default' }),
  };
  await setPodEniAnnotation(apis, 'shop', 'api', '[{"vlanId":1}]');
  const annotated = s.api.store.get('/pods', 'shop', 'api').metadata['annotations'];
  await setPodEniAnnotation(apis, 'shop', 'api', null);
  const cleared = s.api.store.get('/pods', 'shop', 'api').metadata['annotations'];
  await podWarning(apis, 'shop', 'api', 'SecurityGroupNotFound', 'sg-x does not exist');
  return { matches, annotated, cleared, events: s.api.store.list('/events', 'shop') };
}

/** ipamd's watches: this node's pods and all SecurityGroupPolicies, read from their caches. */
async function watchFlow(apis: ReturnType<typeof kubeApis>) {
  const pods = new K8sPodCache(apis, 'node-a', silentLogger);
  const sgp = new K8sSgpSource(apis, { logger: silentLogger });
  await Promise.all([pods.start(), sgp.start()]);
  const web = await pods.pod('shop', 'web');
  const match = await sgp.match({ namespace: 'shop', labels: { role: 'test-role' }, serviceAccountName: '' });
  await Promise.all([pods.stop(), sgp.stop()]);
  return { web, match };
}

async function cniNodeFlow(apis: ReturnType<typeof kubeApis>, s: KubeApiSim) {
  const missing = await addCniNodeFeature(apis, 'node-a', { name: 'SecurityGroupsForPods' });
  s.api.store.create('vpcresources.k8s.aws/cninodes', undefined, {
    metadata: { name: 'node-a' },
    spec: { features: [{ name: 'CustomNetworking', value: 'us-west-2a' }] },
  });
  const first = await addCniNodeFeature(apis, 'node-a', { name: 'SecurityGroupsForPods' });
  const again = await addCniNodeFeature(apis, 'node-a', { name: 'SecurityGroupsForPods' });
  const obj = (await apis.custom.getClusterCustomObject({ ...CNINODE, name: 'node-a' })) as {
    spec: { features: unknown[] };
  };
  return { missing, first, again, features: obj.spec.features };
}

describe('ipamd and the API for security groups for pods', () => {
  it('reads branch pods (first container limit), their UID and annotation; a missing pod is undefined', async () => {
    const apis = await start();
    const r = await podFlow(apis, sim!);
    // The API server assigns the UID, as the real one does.
    const uid = sim!.api.store.get('/pods', 'shop', 'web').metadata['uid'];
    expect(uid).toMatch(/./);
    expect(r.web).toEqual({
      uid,
      labels: {},
      serviceAccountName: 'default',
      wantsBranchEni: true,
      podEniAnnotation: podEni,
    });
    expect(r.plain).toMatchObject({ wantsBranchEni: false, podEniAnnotation: undefined });
    expect(r.gone).toBeUndefined();
  });

  it('adds SecurityGroupsForPods to the CNINode once, keeping other features', async () => {
    const apis = await start();
    const r = await cniNodeFlow(apis, sim!);
    expect(r).toEqual({
      missing: 'no-cninode',
      first: 'added',
      again: 'present',
      features: [{ name: 'CustomNetworking', value: 'us-west-2a' }, { name: 'SecurityGroupsForPods' }],
    });
  });

  it('a concurrent CNINode change makes the patch conflict instead of being overwritten', async () => {
    const apis = await start();
    sim!.api.store.create('vpcresources.k8s.aws/cninodes', undefined, {
      metadata: { name: 'node-a' },
      spec: { features: [] },
    });
    // The controller changes the object between ipamd's read and its patch.
    const read = apis.custom.getClusterCustomObject.bind(apis.custom);
    apis.custom.getClusterCustomObject = (async (...a: Parameters<typeof read>) => {
      const obj = await read(...a);
      const cur = sim!.api.store.get('vpcresources.k8s.aws/cninodes', undefined, 'node-a');
      sim!.api.store.update('vpcresources.k8s.aws/cninodes', undefined, 'node-a', {
        ...cur,
        spec: { features: [{ name: 'Other' }] },
      });
      return obj;
    }) as typeof read;
    await expect(addCniNodeFeature(apis, 'node-a', { name: 'SecurityGroupsForPods' })).rejects.toMatchObject({
      code: 409,
    });
  });

  it('self-managed: matches SecurityGroupPolicies by pod and service-account labels, writes the annotation, warns', async () => {
    const apis = await start();
    const r = await selfManagedFlow(apis, sim!);
    expect(r.matches).toEqual({
      podOnly: { policies: ['by-pod'], groups: ['sg-1'] },
      both: { policies: ['by-pod', 'by-sa'], groups: ['sg-1', 'sg-2'] },
      none: { policies: [], groups: [] },
    });
    expect(r.annotated).toEqual({ 'vpc.amazonaws.com/pod-eni': '[{"vlanId":1}]' });
    expect(r.cleared ?? {}).toEqual({});
    expect(r.events).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'SecurityGroupNotFound',
        involvedObject: expect.objectContaining({ kind: 'Pod', name: 'api', namespace: 'shop' }),
      }),
    ]);
  });

  it('deploy/rbac.yaml allows every request ipamd makes, and every rule is used', async () => {
    const apis = await start();
    sim!.put('nodes', { metadata: { name: 'node-a', labels: { 'k8s.amazonaws.com/eniConfig': 'gone' } } });
    await new K8sEniConfigSource(apis, {
      nodeName: 'node-a',
      annotationDef: 'k8s.amazonaws.com/eniConfig',
      labelDef: 'k8s.amazonaws.com/eniConfig',
      logger: silentLogger,
    }).current();
    await podFlow(apis, sim!);
    await cniNodeFlow(apis, sim!);
    await selfManagedFlow(apis, sim!);
    const w = await watchFlow(apis);
    expect(w.web?.cached).toBe(true);
    expect(w.match.groups).toEqual(['sg-1']);
    expect(usedBy(sim!.api.requests)).toEqual(allowedByRbac());
  });
});
