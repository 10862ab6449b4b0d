// ipamd's ENIConfig lookup (packages/ipamd/src/k8s) against the stand-in, through a kubeconfig file as ipamd reads
// it: the node label picks the ENIConfig, the annotation overrides it, a missing one yields no subnet and one
// Warning event on the node.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { K8sEniConfigSource, kubeApis } from '@vpc-cni/ipamd/k8s';
import { silentLogger } from '@vpc-cni/shared/logging';
import { KubeApiSim } from './index.js';
import { allowedByRbac, usedBy } from './rbac.js';

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
  // Every request ipamd made is allowed by deploy/rbac.yaml (rbac.test.ts checks every rule is used).
  const allowed = allowedByRbac();
  for (const u of usedBy(sim.api.requests)) expect(allowed, u).toContain(u);
  expect(events[0]).toMatchObject({
    type: 'Warning',
    reason: 'EniConfigNotFound',
    involvedObject: { kind: 'Node', name: 'node-a' },
  });
});
