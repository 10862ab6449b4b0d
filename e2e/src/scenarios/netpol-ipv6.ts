// Network policy in an IPv6 cluster through containerd (issue 17), run by egress.e2e.test.ts on its IPv6 cluster
// (one cluster serves both): two simulated nodes with ENABLE_IPv6 (pods get addresses from each node's /80, routed
// between the nodes by the VPC router), each running its
// aws-network-policy-agent with --enable-ipv6=true (as an IPv6 cluster's DaemonSet sets it), the cluster the
// network-policy-controller. After each step the whole matrix of TCP, UDP and ICMPv6 probes between pods on both
// nodes must be what the policies say: open, an ingress allow-list for a labelled client (TCP 80 and UDP 5353), an
// ipBlock /128 that admits one pod on every protocol, an egress allow-list, an IPv4 ipBlock that admits nobody and
// ::/0 that admits everyone (the spec's case T32), a pod created after its policies, and open again once every
// policy is deleted; then the pods are deleted and every address goes back to ipamd.
import { expect } from 'vitest';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import type { Obj } from '../kube/index.js';
import type { CriPod } from '../demo/cri-pods.js';
import { type Cluster, type ClusterNode, removePod, runPod } from './cluster.js';
import {
  type Matrix,
  type Pair,
  type Proto,
  type PodProcesses,
  probeMatrix,
  timeConvergence,
} from './netpol-kit.js';
import { NP_RESOURCE } from './stars.js';

const PE_RESOURCE = 'networking.k8s.aws/policyendpoints';
const NS = 'six';
const UDP = 5353;

const np = (name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: NS },
  spec,
});

/** The probes from one pod to another: TCP 80 and 81, UDP 5353, ICMPv6 echo. */
const PROBES: { suffix: string; proto: Proto; port: number }[] = [
  { suffix: 't80', proto: 'tcp', port: 80 },
  { suffix: 't81', proto: 'tcp', port: 81 },
  { suffix: 'u', proto: 'udp', port: UDP },
  { suffix: 'icmp', proto: 'icmp', port: 0 },
];

interface Placed {
  pod: CriPod;
  node: ClusterNode;
}

function pairsOf(pods: Map<string, Placed>, targets?: string[]): Pair[] {
  const out: Pair[] = [];
  for (const [f, from] of pods)
    for (const [t, to] of pods)
      if (f !== t && (!targets || targets.includes(t)))
        for (const p of PROBES)
          out.push({
            key: `${f}>${t}:${p.suffix}`,
            from: from.pod,
            to: to.pod,
            port: p.port,
            proto: p.proto,
            node: to.node.name,
          });
  return out;
}

/**
 * The expected matrix: every pair reaches unless `deny(from, to, probe)` says it is blocked. ICMPv6 is never
 * filtered (neighbour discovery needs it; so echo passes too: packages/network-policy-agent/README.md).
 */
const expectAll = (pairs: Pair[], deny: (from: string, to: string, probe: string) => boolean): Matrix =>
  Object.fromEntries(
    pairs.map((p) => {
      const [ft, probe] = p.key.split(':') as [string, string];
      const [f, t] = ft.split('>') as [string, string];
      return [p.key, probe === 'icmp' || !deny(f, t, probe)];
    }),
  );

/**
 * The scenario on `c` (two IPv6 nodes with network policy on; namespace `six` is its own). The pods' probers and
 * servers run under `pp` (the caller closes it). Returns how long each phase took, for the log.
 */
export async function expectIpv6PolicyMatrix(c: Cluster, pp: PodProcesses): Promise<string[]> {
  const tStart = performance.now();
  const [a, b] = c.nodes as [ClusterNode, ClusterNode];
  const phases: string[] = [];
  c.kube.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: {} } });
  const pods = new Map<string, Placed>();
  const place = async (name: string, node: ClusterNode, i: number, role: string) => {
    const pod = await runPod(c, node, name, i, { namespace: NS, labels: { role } });
    pp.serve(pod, [80, 81], [UDP]);
    pods.set(name, { pod, node });
    return pod;
  };
  // web-a and the client on one node, web-b and the other pod on the other: same-node and cross-node paths.
  await Promise.all([
    place('client', a, 201, 'client').then(() => place('web-a', a, 202, 'web')),
    place('other', b, 203, 'other').then(() => place('web-b', b, 204, 'web')),
  ]);
  phases.push(`4 pods ${Math.round(performance.now() - tStart)} ms`);
  for (const n of [a, b]) {
    const prefix = parseCidr(c.sim.world.eni(n.instance.instance.primaryEniId).ipv6Prefixes[0]!);
    for (const p of pods.values())
      if (p.node === n) expect(cidrContains(prefix, p.pod.ip), `${p.pod.name} in ${n.name}'s /80`).toBe(true);
  }
  const other = pods.get('other')!.pod;

  const isWeb = (t: string) => t.startsWith('web');
  // With web-allow, web-ipblock and client-egress in force.
  const egressDeny = (f: string, t: string, probe: string) =>
    (f === 'client' && !(isWeb(t) && probe === 't80')) ||
    (isWeb(t) && f !== 'other' && !(f === 'client' && probe === 't80'));
  const otherIpBlock = (cidr: string) =>
    np('other-ipblock', {
      podSelector: { matchLabels: { role: 'other' } },
      ingress: [{ from: [{ ipBlock: { cidr } }] }],
    });
  const steps: {
    title: string;
    write: () => void;
    deny: (f: string, t: string, probe: string) => boolean;
  }[] = [
    { title: 'open (no policy)', write: () => undefined, deny: () => false },
    {
      title: 'web admits the client on TCP 80 and UDP 5353 only',
      write: () =>
        c.kube.put(
          NP_RESOURCE,
          np('web-allow', {
            podSelector: { matchLabels: { role: 'web' } },
            policyTypes: ['Ingress'],
            ingress: [
              {
                from: [{ podSelector: { matchLabels: { role: 'client' } } }],
                ports: [
                  { protocol: 'TCP', port: 80 },
                  { protocol: 'UDP', port: UDP },
                ],
              },
            ],
          }),
          NS,
        ),
      deny: (f, t, probe) => isWeb(t) && !(f === 'client' && (probe === 't80' || probe === 'u')),
    },
    {
      title: 'and admits the other pod by an ipBlock /128 on every protocol',
      write: () =>
        c.kube.put(
          NP_RESOURCE,
          np('web-ipblock', {
            podSelector: { matchLabels: { role: 'web' } },
            ingress: [{ from: [{ ipBlock: { cidr: `${other.ip}/128` } }] }],
          }),
          NS,
        ),
      deny: (f, t, probe) =>
        isWeb(t) && f !== 'other' && !(f === 'client' && (probe === 't80' || probe === 'u')),
    },
    {
      title: 'the client may only send TCP 80 to web pods',
      write: () =>
        c.kube.put(
          NP_RESOURCE,
          np('client-egress', {
            podSelector: { matchLabels: { role: 'client' } },
            policyTypes: ['Egress'],
            egress: [
              {
                to: [{ podSelector: { matchLabels: { role: 'web' } } }],
                ports: [{ protocol: 'TCP', port: 80 }],
              },
            ],
          }),
          NS,
        ),
      deny: egressDeny,
    },
    // The spec's case T32: in an IPv6 cluster an IPv4 ipBlock admits nothing; ::/0 admits everyone.
    {
      title: 'T32: the other pod admits ipBlock 0.0.0.0/0 only: nobody gets in',
      write: () => c.kube.put(NP_RESOURCE, otherIpBlock('0.0.0.0/0'), NS),
      deny: (f, t, probe) => t === 'other' || egressDeny(f, t, probe),
    },
    {
      title: 'T32: with ::/0 instead, everyone gets in',
      write: () => {
        const cur = c.kube.api.store.get(NP_RESOURCE, NS, 'other-ipblock');
        c.kube.api.store.update(
          NP_RESOURCE,
          NS,
          'other-ipblock',
          { ...cur, spec: otherIpBlock('::/0').spec },
          false,
        );
      },
      deny: egressDeny,
    },
  ];
  const judge = async (title: string, pairs: Pair[], want: Matrix, t0: number) => {
    // ICMPv6 is never filtered: its probes (a ping process each) are judged once, in the matrix.
    const conv = await timeConvergence(
      pp,
      pairs.filter((p) => p.proto !== 'icmp'),
      want,
      t0,
      { timeoutMs: 30_000 },
    );
    if (!conv.converged)
      console.error(
        title,
        conv.pending,
        JSON.stringify(c.kube.api.store.list(PE_RESOURCE, NS).map((o) => [o.metadata.name, o['spec']])),
      );
    expect(conv.pending, `step "${title}": pairs that did not settle`).toEqual([]);
    const got = await probeMatrix(pp, pairs);
    expect(got, title).toEqual(want);
    return got;
  };
  const reached: number[] = [];
  for (const step of steps) {
    step.write();
    const t0 = performance.now();
    const pairs = pairsOf(pods);
    const got = await judge(step.title, pairs, expectAll(pairs, step.deny), t0);
    reached.push(Object.values(got).filter(Boolean).length);
    phases.push(`${step.title}: ${Math.round(performance.now() - t0)} ms`);
  }
  const last = steps[steps.length - 1]!;

  // A web pod created after every policy exists, on the node without the client: it gets the web rules.
  const tAsk = performance.now();
  await place('web-late', b, 205, 'web');
  const latePairs = pairsOf(pods, ['web-late']);
  const lateWant = expectAll(latePairs, last.deny);
  await judge('web-late created after its policies', latePairs, lateWant, tAsk);
  phases.push(`web-late: ${Math.round(performance.now() - tAsk)} ms`);
  expect(
    Object.entries(lateWant)
      .filter(([, v]) => v)
      .map(([k]) => k)
      .sort(),
  ).toEqual([
    'client>web-late:icmp',
    'client>web-late:t80',
    'other>web-late:icmp',
    'other>web-late:t80',
    'other>web-late:t81',
    'other>web-late:u',
    'web-a>web-late:icmp',
    'web-b>web-late:icmp',
  ]);

  // Every policy deleted: open again.
  for (const o of c.kube.api.store.list(NP_RESOURCE, NS))
    c.kube.api.store.delete(NP_RESOURCE, NS, o.metadata.name);
  const t0 = performance.now();
  const all = pairsOf(pods);
  const open = await judge(
    'all policies deleted',
    all,
    expectAll(all, () => false),
    t0,
  );
  expect(Object.values(open).every(Boolean)).toBe(true);
  phases.push(`deleted: ${Math.round(performance.now() - t0)} ms`);
  // The pods go (as the kubelet deletes them): every address goes back to ipamd on both nodes.
  await Promise.all([...pods.values()].map((p) => removePod(c, p.node, p.pod)));
  for (const n of [a, b]) expect(n.allocations().size, n.name).toBe(0);
  return phases;
}
