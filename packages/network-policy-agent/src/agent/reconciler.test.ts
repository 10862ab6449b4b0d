import { describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { PROTO_TCP, PodState } from '../datapath/contract.js';
import type { PolicyEndpoint } from '../k8s/policy-endpoint.js';
import { newFlowVerdict } from '../policy/lookup.js';
import type { CompileIssue } from '../policy/types.js';
import { MemoryDatapath } from '../../test/memory-datapath.js';
import { EnforceError, Reconciler, type EnforcingMode } from './reconciler.js';
import { hostVethName } from './veth.js';

const NODE = '10.0.0.10';
const OTHER_NODE = '10.0.0.11';

function world(mode: EnforcingMode = 'standard', labels?: Map<string, Record<string, string>>) {
  const dp = new MemoryDatapath();
  const veths = new Set<string>();
  const issues: CompileIssue[] = [];
  const r = new Reconciler({
    ...(labels ? { podLabels: (ref: string) => labels.get(ref) } : {}),
    datapath: dp,
    nodeIp: NODE,
    mode,
    logger: silentLogger,
    vethPrefixes: ['eni', 'vlan'],
    vethExists: (n) => veths.has(n),
    onIssue: (i) => issues.push(i),
    retryMs: { first: 5, max: 10 },
  });
  const pod = (ns: string, name: string) => veths.add(hostVethName('eni', ns, name));
  return { dp, r, pod, issues };
}

const pe = (name: string, policy: string, o: Partial<PolicyEndpoint> = {}): PolicyEndpoint => ({
  name,
  namespace: 'x',
  policy: `x/${policy}`,
  podIsolation: ['Ingress'],
  pods: [],
  ingress: [],
  egress: [],
  ...o,
});
const at = (name: string, host = NODE, ip = `10.1.0.${name.length}`) => ({
  hostIP: host,
  podIP: ip,
  name,
  namespace: 'x',
});

const allows = (dp: MemoryDatapath, key: string, dir: 'ingress' | 'egress', ip: string, port = 80) =>
  newFlowVerdict(
    dp.readPolicy(key, dir),
    dp.getState(key, dir, 'np') ?? PodState.DefaultDeny,
    ip,
    PROTO_TCP,
    port,
  ) === 'allow';

describe('Reconciler', () => {
  it('refuses ADDs until the PolicyEndpoints are listed', () => {
    const { r, pod } = world();
    pod('x', 'a');
    expect(() => r.enforce('a', 'x', 'standard', 1)).toThrow(EnforceError);
  });

  it('standard: a pod no policy selects is open; a selecting PE isolates it; deleting the PE reopens it', () => {
    const { r, dp, pod } = world();
    pod('x', 'a-1');
    r.markSynced();
    r.enforce('a-1', 'x', 'standard', 1);
    expect(dp.getState('a-1@x', 'ingress', 'np')).toBe(PodState.DefaultAllow);
    expect(allows(dp, 'a-1@x', 'ingress', '10.9.9.9')).toBe(true);
    r.peUpserted(pe('deny-q1', 'deny', { pods: [at('a-1')] }));
    r.flush();
    expect(dp.getState('a-1@x', 'ingress', 'np')).toBe(PodState.PoliciesApplied);
    expect(allows(dp, 'a-1@x', 'ingress', '10.9.9.9')).toBe(false);
    expect(allows(dp, 'a-1@x', 'ingress', NODE)).toBe(true); // kubelet probes
    expect(allows(dp, 'a-1@x', 'egress', '10.9.9.9')).toBe(true); // egress not isolated: catch-all
    r.peDeleted('x', 'deny-q1');
    r.flush();
    expect(dp.getState('a-1@x', 'ingress', 'np')).toBe(PodState.DefaultAllow);
    expect(allows(dp, 'a-1@x', 'ingress', '10.9.9.9')).toBe(true);
  });

  it('pods whose names differ only in the last segment never share rules', () => {
    const { r, dp, pod } = world();
    pod('x', 'app-a');
    pod('x', 'app-b');
    r.markSynced();
    r.enforce('app-a', 'x', 'standard', 1);
    r.enforce('app-b', 'x', 'standard', 1);
    r.peUpserted(pe('only-a-1', 'only-a', { pods: [at('app-a')], ingress: [{ cidr: '10.5.0.0/16' }] }));
    r.flush();
    expect(allows(dp, 'app-a@x', 'ingress', '10.9.0.1')).toBe(false);
    expect(allows(dp, 'app-a@x', 'ingress', '10.5.0.1')).toBe(true);
    expect(dp.getState('app-b@x', 'ingress', 'np')).toBe(PodState.DefaultAllow);
    expect(allows(dp, 'app-b@x', 'ingress', '10.9.0.1')).toBe(true);
  });

  it('the union of two policies; rules of one policy spread over two PEs; removing one policy keeps the other', () => {
    const { r, dp, pod } = world();
    pod('x', 'a');
    r.markSynced();
    r.enforce('a', 'x', 'standard', 1);
    r.peUpserted(
      pe('p1-1', 'p1', {
        pods: [at('a')],
        ingress: [{ cidr: '10.1.1.1', ports: [{ protocol: 'TCP', port: 80 }] }],
      }),
    );
    r.peUpserted(pe('p1-2', 'p1', { ingress: [{ cidr: '10.1.1.2' }] }));
    r.peUpserted(pe('p2-1', 'p2', { pods: [at('a')], ingress: [{ cidr: '10.1.1.3' }] }));
    r.flush();
    expect(allows(dp, 'a@x', 'ingress', '10.1.1.1', 80)).toBe(true);
    expect(allows(dp, 'a@x', 'ingress', '10.1.1.1', 81)).toBe(false);
    expect(allows(dp, 'a@x', 'ingress', '10.1.1.2', 81)).toBe(true);
    expect(allows(dp, 'a@x', 'ingress', '10.1.1.3')).toBe(true);
    r.peDeleted('x', 'p1-1');
    r.peDeleted('x', 'p1-2');
    r.flush();
    expect(allows(dp, 'a@x', 'ingress', '10.1.1.1', 80)).toBe(false);
    expect(allows(dp, 'a@x', 'ingress', '10.1.1.3')).toBe(true);
  });

  it('strict: a new pod is closed from attach until its own policies are in; removing them closes it again', () => {
    const { r, dp, pod } = world('strict');
    pod('x', 'd');
    r.markSynced();
    r.enforce('d', 'x', 'strict', 1);
    expect(dp.calls[0]).toBe(`attach d@x ${hostVethName('eni', 'x', 'd')} np=${PodState.DefaultDeny}`);
    expect(allows(dp, 'd@x', 'ingress', '10.9.9.9')).toBe(false);
    expect(allows(dp, 'd@x', 'egress', '10.9.9.9')).toBe(false);
    expect(allows(dp, 'd@x', 'ingress', NODE)).toBe(true); // node-IP entry seeded (README "Strict mode")
    r.peUpserted(
      pe('open-1', 'open', {
        podIsolation: ['Ingress', 'Egress'],
        pods: [at('d')],
        ingress: [{ cidr: '0.0.0.0/0' }],
        egress: [{ cidr: '0.0.0.0/0' }],
      }),
    );
    r.flush();
    expect(allows(dp, 'd@x', 'ingress', '10.9.9.9')).toBe(true);
    r.peDeleted('x', 'open-1');
    r.flush();
    expect(dp.getState('d@x', 'egress', 'np')).toBe(PodState.DefaultDeny);
  });

  it('a pod already listed when its ADD comes is programmed before the ADD returns, never open on the way', () => {
    const { r, dp, pod } = world();
    r.peUpserted(pe('p-1', 'p', { pods: [at('b')], ingress: [{ cidr: '10.2.0.0/16' }] }));
    r.markSynced();
    pod('x', 'b'); // the plugin made the veth after the PE listed the pod
    r.enforce('b', 'x', 'standard', 1);
    expect(dp.calls).toEqual([
      `attach b@x ${hostVethName('eni', 'x', 'b')} np=${PodState.DefaultDeny}`,
      'write b@x ingress',
      'write b@x egress',
      'state b@x ingress np=0',
      'state b@x egress np=0',
    ]);
  });

  it('pods on other nodes and host-network pods are not touched; a local pod without a veth waits for its ADD', () => {
    const { r, dp } = world();
    r.markSynced();
    r.peUpserted(
      pe('p-1', 'p', {
        pods: [
          at('far', OTHER_NODE),
          { hostIP: NODE, podIP: NODE, name: 'hostnet', namespace: 'x' },
          at('later'),
        ],
      }),
    );
    r.flush();
    expect(dp.calls).toEqual([]);
  });

  it('multi-NIC pods get every host veth; a missing veth fails the ADD naming what was tried', () => {
    const { r, dp, pod } = world();
    pod('x', 'm');
    r.markSynced();
    expect(() => r.enforce('m', 'x', 'standard', 2)).toThrow(/interface 1\) not found: tried eni.*, vlan/);
    expect(dp.keys.size).toBe(0);
  });

  it('a failed map write leaves the state untouched and is retried', async () => {
    const { r, dp, pod } = world();
    pod('x', 'a');
    r.markSynced();
    r.enforce('a', 'x', 'standard', 1);
    dp.failNextWrite = new Error('map full');
    r.peUpserted(pe('p-1', 'p', { pods: [at('a')] }));
    r.flush();
    expect(dp.getState('a@x', 'ingress', 'np')).toBe(PodState.DefaultAllow);
    for (let i = 0; i < 200 && dp.getState('a@x', 'ingress', 'np') !== PodState.PoliciesApplied; i++)
      await new Promise((res) => setTimeout(res, 10));
    expect(dp.getState('a@x', 'ingress', 'np')).toBe(PodState.PoliciesApplied);
  });

  it('DEL unpins the pod; a late PE event does not re-create it', () => {
    const { r, dp, pod } = world();
    pod('x', 'a');
    r.markSynced();
    r.enforce('a', 'x', 'standard', 1);
    r.deletePod('a', 'x');
    expect(dp.keys.size).toBe(0);
    r.peUpserted(pe('p-1', 'p', { pods: [at('a')] }));
    r.flush();
    expect(dp.keys.size).toBe(0);
  });

  it('over 24 port entries: reported once with the policy named', () => {
    const { r, pod, issues } = world();
    pod('x', 'a');
    r.markSynced();
    r.enforce('a', 'x', 'standard', 1);
    const ports = Array.from({ length: 30 }, (_, i) => ({ protocol: 'TCP', port: 100 + 2 * i }));
    r.peUpserted(pe('wide-1', 'wide', { pods: [at('a')], ingress: [{ cidr: '10.3.0.0/16', ports }] }));
    r.flush();
    r.peUpserted(pe('wide-1', 'wide', { pods: [at('a')], ingress: [{ cidr: '10.3.0.0/16', ports }] }));
    r.flush();
    expect(issues).toEqual([
      { kind: 'too-many-ports', cidr: '10.3.0.0/16', count: 30, policies: ['x/wide'] },
    ]);
  });

  it('pin GC: after the initial list, adopted keys whose pod has no host veth are removed; live ones kept', () => {
    const { r, dp, pod } = world('strict');
    // An earlier run pinned three pods; "gone" was deleted while the agent was down (its veth went with it).
    for (const name of ['live', 'gone', 'selected-gone'])
      dp.attach(`${name}@x`, [hostVethName('eni', 'x', name)], {
        np: PodState.DefaultDeny,
        cp: PodState.DefaultAllow,
      });
    pod('x', 'live');
    r.adopt(
      ['live', 'gone', 'selected-gone'].map((name) => ({
        name,
        namespace: 'x',
        veths: [hostVethName('eni', 'x', name)],
      })),
    );
    // A PE still lists one of the deleted pods (the controller has not caught up): no veth, still removed.
    r.peUpserted(pe('p-1', 'p', { pods: [at('selected-gone'), at('live')] }));
    expect(dp.keys.size).toBe(3); // nothing removed before the list is in
    r.markSynced();
    expect([...dp.keys.keys()]).toEqual(['live@x']);
    expect(dp.calls.filter((c) => c.startsWith('remove'))).toEqual([
      'remove gone@x',
      'remove selected-gone@x',
    ]);
    expect(r.localPods().map((p) => p.key)).toEqual(['live@x']);
    expect(dp.getState('live@x', 'ingress', 'np')).toBe(PodState.PoliciesApplied);
    // Its new incarnation's ADD starts from fresh state.
    pod('x', 'gone');
    r.enforce('gone', 'x', 'strict', 1);
    expect(dp.getState('gone@x', 'ingress', 'np')).toBe(PodState.DefaultDeny);
    expect(r.collectGone()).toEqual([]); // once only
  });

  describe('strict mode: a direction a policy will isolate stays closed until that policy’s PE lists the pod', () => {
    // web is selected by two policies: egress-all (Egress only) and web-in (Ingress from 10.1.1.1). The controller
    // writes one PE per policy; here egress-all's arrives listing web while web-in's does not list it yet.
    const egressAll = (pods: ReturnType<typeof at>[]) =>
      pe('egress-all-1', 'egress-all', {
        podIsolation: ['Egress'],
        podSelector: { matchExpressions: [{ key: 'role', operator: 'Exists' }] },
        pods,
        egress: [{ cidr: '0.0.0.0/0' }],
      });
    const webIn = (pods: ReturnType<typeof at>[], selector = { matchLabels: { role: 'web' } }) =>
      pe('web-in-1', 'web-in', { podSelector: selector, pods, ingress: [{ cidr: '10.1.1.1' }] });

    it('ingress held (node IP only) between the two PEs; then exactly web-in’s rules', () => {
      const labels = new Map([['x/web', { role: 'web' }]]);
      const { r, dp, pod } = world('strict', labels);
      pod('x', 'web');
      r.peUpserted(webIn([]));
      r.markSynced();
      r.enforce('web', 'x', 'strict', 1);
      r.peUpserted(egressAll([at('web')]));
      r.flush();
      expect(dp.getState('web@x', 'ingress', 'np')).toBe(PodState.PoliciesApplied);
      expect(allows(dp, 'web@x', 'egress', '10.9.9.9')).toBe(true);
      expect(allows(dp, 'web@x', 'ingress', '10.9.9.9')).toBe(false); // not the catch-all
      expect(allows(dp, 'web@x', 'ingress', '10.1.1.1')).toBe(false);
      expect(allows(dp, 'web@x', 'ingress', NODE)).toBe(true); // kubelet probes
      expect(r.heldPods()).toEqual(['x/web']);
      r.peUpserted(webIn([at('web')]));
      r.flush();
      expect(allows(dp, 'web@x', 'ingress', '10.1.1.1')).toBe(true);
      expect(allows(dp, 'web@x', 'ingress', '10.9.9.9')).toBe(false);
      expect(r.heldPods()).toEqual([]);
    });

    it('a direction no policy of the namespace isolates opens at once (catch-all), as without the hold', () => {
      const labels = new Map([['x/client', { role: 'client' }]]);
      const { r, dp, pod } = world('strict', labels);
      pod('x', 'client');
      r.peUpserted(webIn([]));
      r.markSynced();
      r.enforce('client', 'x', 'strict', 1);
      r.peUpserted(egressAll([at('client')]));
      r.flush();
      expect(allows(dp, 'client@x', 'ingress', '10.9.9.9')).toBe(true);
      expect(r.heldPods()).toEqual([]);
    });

    it('labels not known yet: held until they are; a policy whose selector stops matching releases the hold', () => {
      const labels = new Map<string, Record<string, string>>();
      const { r, dp, pod } = world('strict', labels);
      pod('x', 'web');
      r.peUpserted(webIn([]));
      r.markSynced();
      r.enforce('web', 'x', 'strict', 1);
      r.peUpserted(egressAll([at('web')]));
      r.flush();
      expect(allows(dp, 'web@x', 'ingress', '10.9.9.9')).toBe(false);
      labels.set('x/web', { role: 'web' });
      r.podLabelsChanged('x', 'web');
      r.flush();
      expect(allows(dp, 'web@x', 'ingress', '10.9.9.9')).toBe(false); // web-in selects it: still held
      r.peUpserted(webIn([], { matchLabels: { role: 'db' } })); // the policy now selects other pods
      r.flush();
      expect(allows(dp, 'web@x', 'ingress', '10.9.9.9')).toBe(true);
      expect(r.heldPods()).toEqual([]);
    });

    it('standard mode keeps upstream’s behaviour: the catch-all until the second PE', () => {
      const labels = new Map([['x/web', { role: 'web' }]]);
      const { r, dp, pod } = world('standard', labels);
      pod('x', 'web');
      r.peUpserted(webIn([]));
      r.markSynced();
      r.enforce('web', 'x', 'standard', 1);
      r.peUpserted(egressAll([at('web')]));
      r.flush();
      expect(allows(dp, 'web@x', 'ingress', '10.9.9.9')).toBe(true);
    });
  });
});
