// The agent end to end with the real eBPF datapath (needs root and a build that includes the datapath; skipped
// otherwise, saying why): pods wired in throwaway namespaces, PolicyEndpoints written to the API stand-in, TCP
// probes between pod namespaces. Standard and strict mode, per-direction isolation, ports, the union of two
// policies, removal, pods whose names differ only in the last segment, DEL.
import { afterEach, describe, expect, it } from 'vitest';
import { DATAPATH_AVAILABLE } from '@vpc-cni/network-policy-agent/agent-datapath';
import { NetpolLab, eventually } from './lab.js';

const root = process.getuid?.() === 0;
let lab: NetpolLab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

const isolateIngress = (l: NetpolLab, pods: string[], ingress: unknown[] = []) => ({
  policyRef: { name: 'p', namespace: 'x' },
  podIsolation: ['Ingress'],
  podSelectorEndpoints: pods.map((p) => l.endpoint(p)),
  ingress,
});

describe.skipIf(!DATAPATH_AVAILABLE || !root)(
  `network policy enforced by the agent${DATAPATH_AVAILABLE ? '' : ' (skipped: this build has no eBPF datapath)'}`,
  () => {
    it('standard: open until selected; ingress rule by peer and port; egress untouched; removal reopens', async () => {
      lab = await NetpolLab.start({ mode: 'standard' });
      for (const p of ['a', 'b', 'c']) lab.addPod(p);
      for (const p of ['a', 'b', 'c']) await lab.enforce(p, 'standard');
      expect(lab.probe('b', 'a')).toBe(true);
      const b = lab.pods.get('b')!.ip;
      lab.putPolicyEndpoint(
        'allow-b-abcde',
        isolateIngress(lab, ['a'], [{ cidr: b, ports: [{ protocol: 'TCP', port: 80 }] }]),
      );
      const l = lab;
      await eventually('c → a denied', () => !l.probe('c', 'a', 80, 300));
      expect(lab.probe('b', 'a', 80)).toBe(true);
      expect(lab.probe('b', 'a', 81, 300)).toBe(false);
      expect(lab.probe('a', 'c', 80)).toBe(true); // egress of a not isolated; replies through conntrack
      lab.deletePolicyEndpoint('allow-b-abcde');
      await eventually('c → a allowed again', () => l.probe('c', 'a', 80, 300));
    });

    it('the union of two policies; one removed keeps the other; siblings app-1/app-2 never share rules', async () => {
      lab = await NetpolLab.start({ mode: 'standard' });
      for (const p of ['app-1', 'app-2', 'b', 'c']) lab.addPod(p);
      for (const p of ['app-1', 'app-2', 'b', 'c']) await lab.enforce(p, 'standard');
      const ip = (p: string) => lab!.pods.get(p)!.ip;
      lab.putPolicyEndpoint('p1-abcde', {
        ...isolateIngress(lab, ['app-1'], [{ cidr: ip('b') }]),
        policyRef: { name: 'p1', namespace: 'x' },
      });
      lab.putPolicyEndpoint('p2-abcde', {
        ...isolateIngress(lab, ['app-1'], [{ cidr: ip('c') }]),
        policyRef: { name: 'p2', namespace: 'x' },
      });
      const l = lab;
      await eventually(
        'both rules in',
        () => l.probe('b', 'app-1') && l.probe('c', 'app-1') && !l.probe('app-2', 'app-1', 80, 300),
      );
      expect(lab.probe('app-1', 'app-2')).toBe(true); // app-2 is selected by nothing
      expect(lab.probe('b', 'app-2')).toBe(true);
      lab.deletePolicyEndpoint('p1-abcde');
      await eventually(
        'b denied, c still allowed',
        () => !l.probe('b', 'app-1', 80, 300) && l.probe('c', 'app-1'),
      );
    });

    it('strict: a new pod is closed from its first packet until its own policy is in', async () => {
      lab = await NetpolLab.start({ mode: 'strict' });
      for (const p of ['d', 'b']) lab.addPod(p);
      await lab.enforce('d', 'strict');
      await lab.enforce('b', 'strict');
      expect(lab.probe('b', 'd', 80, 300)).toBe(false);
      expect(lab.probe('d', 'b', 80, 300)).toBe(false);
      lab.putPolicyEndpoint('open-d-abcde', {
        policyRef: { name: 'open-d', namespace: 'x' },
        podIsolation: ['Ingress', 'Egress'],
        podSelectorEndpoints: [lab.endpoint('d'), lab.endpoint('b')],
        ingress: [{ cidr: '0.0.0.0/0' }],
        egress: [{ cidr: '0.0.0.0/0' }],
      });
      const l = lab;
      await eventually('d reachable', () => l.probe('b', 'd'));
      lab.deletePolicyEndpoint('open-d-abcde');
      await eventually('d closed again', () => !l.probe('b', 'd', 80, 300));
    });

    it('DEL removes the pod key; a later ADD of the same name starts from the mode default', async () => {
      lab = await NetpolLab.start({ mode: 'standard' });
      for (const p of ['a', 'b']) lab.addPod(p);
      await lab.enforce('a', 'standard');
      await lab.enforce('b', 'standard');
      expect(
        lab.agent.reconciler
          ?.localPods()
          .map((p) => p.key)
          .sort(),
      ).toEqual(['a@x', 'b@x']);
      await lab.deletePod('a');
      expect(lab.agent.reconciler?.localPods().map((p) => p.key)).toEqual(['b@x']);
      await lab.enforce('a', 'standard');
      expect(lab.probe('b', 'a')).toBe(true);
    });
  },
);
