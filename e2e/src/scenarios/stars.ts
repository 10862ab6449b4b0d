// The Stars demo of network policy (the classic tutorial: a management UI, a client, a frontend and a backend) on
// the simulated cluster: its namespaces and pods, the NetworkPolicy objects of each step, and per step who may
// reach whom. Pods are spread over two nodes so that both same-node and cross-node paths are judged.
import type { Obj } from '../kube/index.js';
import type { CriPod } from '../demo/cri-pods.js';
import { type Cluster, runPod } from './cluster.js';
import {
  type Convergence,
  type Matrix,
  type Pair,
  PodProcesses,
  probeMatrix,
  timeConvergence,
} from './netpol-kit.js';

export const STARS_NAMESPACES: { name: string; labels: Record<string, string> }[] = [
  { name: 'stars', labels: {} },
  { name: 'client', labels: { role: 'client' } },
  { name: 'management-ui', labels: { role: 'management-ui' } },
];

export interface StarsPod {
  name: string;
  namespace: string;
  role: string;
  port: number;
  /** Index of the cluster node it runs on. */
  node: number;
}

export const STARS_PODS: StarsPod[] = [
  { name: 'ui', namespace: 'management-ui', role: 'management-ui', port: 9001, node: 0 },
  { name: 'client', namespace: 'client', role: 'client', port: 9000, node: 1 },
  { name: 'frontend', namespace: 'stars', role: 'frontend', port: 80, node: 0 },
  { name: 'backend', namespace: 'stars', role: 'backend', port: 6379, node: 1 },
];
export const NAMES = STARS_PODS.map((p) => p.name);
/** Every pod also listens here: a port no policy allows (shows that port rules are enforced). */
export const OTHER_PORT = 8080;
/** The extra probe: frontend → backend on OTHER_PORT. */
export const OTHER_KEY = `frontend>backend:${OTHER_PORT}`;

const np = (name: string, namespace: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});
const labels = (l: Record<string, string>) => ({ matchLabels: l });

export interface StarsStep {
  title: string;
  create: Obj[];
  deleteAll?: boolean;
  /** The pairs "from>to" that reach (on `to`'s port), plus OTHER_KEY when it reaches. */
  allowed: string[];
}

const all = NAMES.flatMap((f) => NAMES.filter((t) => t !== f).map((t) => `${f}>${t}`));
const toUi = NAMES.filter((f) => f !== 'ui').map((f) => `${f}>ui`);
const fromUi = NAMES.filter((t) => t !== 'ui').map((t) => `ui>${t}`);

export const STARS_STEPS: StarsStep[] = [
  { title: 'open (no policy)', create: [], allowed: [...all, OTHER_KEY] },
  {
    title: 'default-deny in stars and client',
    create: ['stars', 'client'].map((ns) => np('default-deny', ns, { podSelector: {} })),
    allowed: toUi,
  },
  {
    title: 'allow-ui in stars and client',
    create: ['stars', 'client'].map((ns) =>
      np('allow-ui', ns, {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: labels({ role: 'management-ui' }) }] }],
      }),
    ),
    allowed: [...toUi, ...fromUi],
  },
  {
    title: 'backend-policy: frontend → backend TCP 6379',
    create: [
      np('backend-policy', 'stars', {
        podSelector: labels({ role: 'backend' }),
        ingress: [
          { from: [{ podSelector: labels({ role: 'frontend' }) }], ports: [{ protocol: 'TCP', port: 6379 }] },
        ],
      }),
    ],
    allowed: [...toUi, ...fromUi, 'frontend>backend'],
  },
  {
    title: 'frontend-policy: namespace role=client → frontend TCP 80',
    create: [
      np('frontend-policy', 'stars', {
        podSelector: labels({ role: 'frontend' }),
        ingress: [
          {
            from: [{ namespaceSelector: labels({ role: 'client' }) }],
            ports: [{ protocol: 'TCP', port: 80 }],
          },
        ],
      }),
    ],
    allowed: [...toUi, ...fromUi, 'frontend>backend', 'client>frontend'],
  },
  { title: 'all policies deleted', create: [], deleteAll: true, allowed: [...all, OTHER_KEY] },
];

export const NP_RESOURCE = 'networking.k8s.io/networkpolicies';

/** Applies a step's API writes (as kubectl would); returns the time of the last write (performance.now()). */
export function applyStep(c: Cluster, step: StarsStep): number {
  if (step.deleteAll)
    for (const o of c.kube.api.store.list(NP_RESOURCE, undefined))
      c.kube.api.store.delete(NP_RESOURCE, o.metadata.namespace, o.metadata.name);
  for (const o of step.create) c.kube.put(NP_RESOURCE, o, o.metadata.namespace);
  return performance.now();
}

export function expectedMatrix(step: StarsStep): Matrix {
  const m: Matrix = {};
  for (const k of [...all, OTHER_KEY]) m[k] = step.allowed.includes(k);
  return m;
}

export interface StarsDeployment {
  pods: Map<string, CriPod>;
  pairs: Pair[];
  processes: PodProcesses;
}

/** Namespaces, then the four pods through each node's containerd, a TCP server in each. */
export async function deployStars(c: Cluster): Promise<StarsDeployment> {
  for (const ns of STARS_NAMESPACES)
    c.kube.put('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns.name, labels: ns.labels },
    });
  const processes = new PodProcesses();
  const pods = new Map<string, CriPod>();
  try {
    for (const [i, p] of STARS_PODS.entries()) {
      const n = c.nodes[p.node % c.nodes.length]!;
      const pod = await runPod(c, n, p.name, 100 + i, { namespace: p.namespace, labels: { role: p.role } });
      pods.set(p.name, pod);
      processes.serve(pod, [p.port, OTHER_PORT]);
    }
  } catch (e) {
    processes.close();
    throw e;
  }
  const nodeOf = (name: string) =>
    c.nodes[STARS_PODS.find((p) => p.name === name)!.node % c.nodes.length]!.name;
  const pairs: Pair[] = [];
  for (const f of STARS_PODS)
    for (const t of STARS_PODS)
      if (f !== t)
        pairs.push({
          key: `${f.name}>${t.name}`,
          from: pods.get(f.name)!,
          to: pods.get(t.name)!,
          port: t.port,
          node: nodeOf(t.name),
        });
  pairs.push({
    key: OTHER_KEY,
    from: pods.get('frontend')!,
    to: pods.get('backend')!,
    port: OTHER_PORT,
    node: nodeOf('backend'),
  });
  return { pods, pairs, processes };
}

export interface StarsStepResult {
  /** The step's matrix. */
  want: Matrix;
  /** Per node, ms from the API write until every pair into it answered as `want` and kept doing so. */
  conv: Convergence;
  /** The whole matrix once more, with a patient timeout, after convergence. */
  got: Matrix;
}

/** One step as the demo and the e2e test run it: the API writes, convergence per node, then the matrix. */
export async function runStarsStep(
  c: Cluster,
  s: StarsDeployment,
  step: StarsStep,
): Promise<StarsStepResult> {
  const t0 = applyStep(c, step);
  const want = expectedMatrix(step);
  const conv = await timeConvergence(s.processes, s.pairs, want, t0, { timeoutMs: 30_000 });
  const got = await probeMatrix(s.processes, s.pairs);
  return { want, conv, got };
}
