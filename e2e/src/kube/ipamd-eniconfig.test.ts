// ipamd's ENIConfig lookup (packages/ipamd/src/k8s) against the stand-in, through a kubeconfig file as ipamd reads
// it: the node label picks the ENIConfig, the annotation overrides it, a missing one yields no subnet and one
// Warning event on the node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterEach, expect, it } from 'vitest';
import { K8sEniConfigSource, kubeApis } from '@vpc-cni/ipamd/k8s';
import { silentLogger } from '@vpc-cni/shared/logging';
import { KubeApiSim } from './index.js';
import { parsePath } from './resources.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
const RBAC = resolve(import.meta.dirname, '../../../deploy/rbac.yaml');
const rbacRules = (): Rule[] =>
  parseAllDocuments(readFileSync(RBAC, 'utf8'))
    .map((d) => d.toJS() as { kind: string; rules?: Rule[] })
    .find((d) => d.kind === 'ClusterRole')!.rules!;

let sim: KubeApiSim | undefined;
const dir = mkdtempSync(join(tmpdir(), 'vct-kube-'));
afterEach(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('resolves the node ENIConfig in upstream order and reports a missing one once', async () => {
  sim = await KubeApiSim.start();
  const apis = kubeApis({ KUBECONFIG: sim.writeKubeconfig(join(dir, 'kubeconfig')) });
  sim.put('nodes', { metadata: { name: 'node-a', labels: { 'k8s.amazonaws.com/eniConfig': 'us-west-2a' } } });
  for (const [name, subnet] of [
    ['us-west-2a', 'subnet-0aaa'],
    ['special', 'subnet-0bbb'],
  ] as const)
    sim.put('crd.k8s.amazonaws.com/eniconfigs', {
      metadata: { name },
      spec: { subnet, securityGroups: ['sg-1'] },
    });
  let t = 0;
  const source = new K8sEniConfigSource(apis, {
    nodeName: 'node-a',
    annotationDef: 'k8s.amazonaws.com/eniConfig',
    labelDef: 'k8s.amazonaws.com/eniConfig',
    logger: silentLogger,
    now: () => t,
  });
  expect(await source.current()).toEqual({
    name: 'us-west-2a',
    subnet: 'subnet-0aaa',
    securityGroups: ['sg-1'],
  });
  // The annotation wins over the label (cache expires first).
  const annotate = (value: string) => {
    const node = sim!.api.store.get('/nodes', undefined, 'node-a');
    sim!.api.store.update('/nodes', undefined, 'node-a', {
      ...node,
      metadata: { ...node.metadata, annotations: { 'k8s.amazonaws.com/eniConfig': value } },
    });
  };
  annotate('special');
  t += 10_000;
  expect((await source.current()).subnet).toBe('subnet-0bbb');
  // Missing: no subnet, and one Warning event however often it is asked.
  annotate('gone');
  for (let i = 0; i < 3; i++) {
    t += 10_000;
    expect(await source.current()).toEqual({ name: 'gone', subnet: undefined, securityGroups: [] });
  }
  const events = sim.api.store.list('/events', 'default');
  expect(events).toHaveLength(1);
  // deploy/rbac.yaml lists exactly what ipamd used: every request allowed, every rule used.
  const verbOf = (method: string, named: boolean) =>
    method === 'WATCH'
      ? 'watch'
      : method === 'GET'
        ? named
          ? 'get'
          : 'list'
        : ({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[
            method
          ]!;
  const used = sim.api.requests.map((r) => {
    const t = parsePath(r.path)!;
    return `${t.def.group}|${t.def.plural}|${verbOf(r.method, t.name !== undefined)}`;
  });
  const allowed = rbacRules().flatMap((r) =>
    r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}|${res}|${v}`))),
  );
  expect([...new Set(used)].sort()).toEqual([...new Set(allowed)].sort());
  expect(events[0]).toMatchObject({
    type: 'Warning',
    reason: 'EniConfigNotFound',
    involvedObject: { kind: 'Node', name: 'node-a' },
  });
});
