// Strict network policy mode through containerd (issue 17), on a prefix-delegation node (pods get addresses from
// the primary ENI's /28 prefixes): a pod created after the policy that selects it exists is never reachable against
// that policy, not even by its first packet. The intruder's probe loop runs over every address the node could give
// the new pod (its ENIs' secondary addresses and prefixes) from before the sandbox is requested until well after
// the allowed client gets through, so the moment the pod's address comes up is covered.
// Then kill -9 of the node's aws-network-policy-agent under continuous probes, a policy change while it is down,
// and its restart (issue 16).
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import type { CriPod } from '../demo/cri-pods.js';
import { type Cluster, runPod, startCluster } from './cluster.js';
import { canRun } from './kit.js';
import { PodProcesses, probeLoop } from './netpol-kit.js';
import { NP_RESOURCE } from './stars.js';

const PE_RESOURCE = 'networking.k8s.aws/policyendpoints';
interface PeSpec {
  policyRef: { name: string };
  ingress?: { ports?: { port?: number }[] }[];
}

let cluster: Cluster | undefined;
let processes: PodProcesses | undefined;
afterEach(async () => {
  processes?.close();
  processes = undefined;
  await cluster?.stop();
  cluster = undefined;
});

/** Every IPv4 address the instance's ENIs hold for pods (secondary addresses, /28 prefixes expanded). */
function podAddresses(c: Cluster, instanceId: string): string[] {
  const out: string[] = [];
  for (const e of c.sim.world.enisOf(instanceId)) {
    out.push(...e.secondaryIps);
    for (const p of e.ipv4Prefixes) {
      const [base, len] = p.split('/') as [string, string];
      const n = base.split('.').reduce((a, b) => a * 256 + Number(b), 0);
      for (let i = 0; i < 2 ** (32 - Number(len)); i++) {
        const v = n + i;
        out.push([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.'));
      }
    }
  }
  return out;
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe.skipIf(!canRun)('strict network policy mode through containerd', () => {
  it('a pod created after its policy is closed from its first packet; only the allowed client gets in', async () => {
    const c = (cluster = await startCluster({
      nodes: [{ name: 'np-s', type: 'm5.large' }],
      env: { ENABLE_PREFIX_DELEGATION: 'true' },
      networkPolicy: 'strict',
    }));
    const n = c.nodes[0]!;
    c.kube.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: {} } });
    const np = (name: string, spec: Record<string, unknown>) =>
      c.kube.put(
        NP_RESOURCE,
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name, namespace: 'shop' },
          spec,
        },
        'shop',
      );
    // Strict mode closes every pod until its policies are in: give every pod egress, then web's ingress rule. Web
    // is selected by two policies, one egress-only: the controller writes one PolicyEndpoint per policy, and the
    // agent keeps web's ingress closed (not the catch-all) while egress-open's PE lists web and web-policy's does
    // not yet (packages/network-policy-agent/README.md "Strict mode").
    np('egress-open', {
      podSelector: {
        matchExpressions: [{ key: 'role', operator: 'In', values: ['client', 'intruder', 'web'] }],
      },
      policyTypes: ['Egress'],
      egress: [{}],
    });
    np('web-policy', {
      podSelector: { matchLabels: { role: 'web' } },
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { role: 'client' } } }],
          ports: [{ protocol: 'TCP', port: 80 }],
        },
      ],
    });
    const pp = (processes = new PodProcesses());
    const client = await runPod(c, n, 'client', 1, { namespace: 'shop', labels: { role: 'client' } });
    const intruder = await runPod(c, n, 'intruder', 2, { namespace: 'shop', labels: { role: 'intruder' } });
    for (const p of [client, intruder]) pp.serve(p, [80]);
    // Both programmed (a strict-mode pod is closed until the controller lists it): they reach each other.
    await until(
      'client and intruder to reach each other',
      async () =>
        (await pp.prober(client).probe(intruder.ip, 80, 500)) &&
        (await pp.prober(intruder).probe(client.ip, 80, 500)),
    );

    const taken = new Set([client.ip, intruder.ip, n.ip]);
    const candidates = podAddresses(c, n.instance.instance.id).filter((ip) => !taken.has(ip));
    const bad = probeLoop(pp, intruder, candidates, 80);
    const good = probeLoop(pp, client, candidates, 80);
    await new Promise((r) => setTimeout(r, 500)); // the loops run before the sandbox is asked for
    const tAsk = performance.now();
    let web: CriPod;
    try {
      web = await runPod(c, n, 'web', 3, { namespace: 'shop', labels: { role: 'web' } });
      const tUp = performance.now();
      // Right after RunPodSandbox returned: the intruder is blocked.
      expect(await pp.prober(intruder).probe(web.ip, 80, 1_000)).toBe(false);
      pp.serve(web, [80]);
      await until('the client to reach web', () => pp.prober(client).probe(web.ip, 80, 500));
      await new Promise((r) => setTimeout(r, 1_000));
      expect(candidates, 'the probe loops covered the address web got').toContain(web.ip);
      // Prefix delegation: every pod's address is in one of the primary ENI's /28s (and the node has no other ENI).
      const enis = c.sim.world.enisOf(n.instance.instance.id);
      expect(enis).toHaveLength(1);
      const prefixes = enis[0]!.ipv4Prefixes.map(parseCidr);
      for (const p of [client, intruder, web])
        expect(
          prefixes.some((x) => cidrContains(x, p.ip)),
          `${p.name} ${p.ip} in a /28`,
        ).toBe(true);
      expect(prefixes.every((x) => x.bits === 28)).toBe(true);
      const intruderSaw = bad.log.get(web.ip)!;
      const clientSaw = good.log.get(web.ip)!;
      // The loops probed web's address before the sandbox was asked for, during the CNI ADD and after.
      expect(intruderSaw.filter((p) => p.t < tAsk).length).toBeGreaterThan(0);
      expect(intruderSaw.filter((p) => p.t > tAsk && p.t < tUp).length).toBeGreaterThan(0);
      expect(intruderSaw.filter((p) => p.t > tUp).length).toBeGreaterThan(0);
      const firstClient = clientSaw.find((p) => p.ok)?.t ?? NaN;
      if (intruderSaw.some((p) => p.ok)) {
        console.error(
          'intruder ok at (ms after RunPodSandbox returned):',
          intruderSaw.filter((p) => p.ok).map((p) => Math.round(p.t - tUp)),
          'ADD took',
          Math.round(tUp - tAsk),
          'client first ok at',
          Math.round(firstClient - tUp),
        );
        const log = readFileSync(n.node.policyAgent!.log, 'utf8')
          .split('\n')
          .filter((l) => l.includes('web'));
        console.error(log.slice(0, 40).join('\n'));
      }
      expect(
        intruderSaw.filter((p) => p.ok),
        'probes of the intruder that reached web',
      ).toEqual([]);
      expect(clientSaw.some((p) => p.ok)).toBe(true);
    } finally {
      await bad.stop();
      await good.stop();
    }
    // And the rule is a port rule: the client gets nowhere else on web.
    pp.serve(web, [81]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await pp.prober(client).probe(web.ip, 81, 1_000)).toBe(false);

    // kill -9 of the agent under continuous probes (issue 16): the pinned programs and maps keep enforcing while
    // no agent runs and while the restarted one adopts them; a policy changed meanwhile (web also admits the
    // client on 81, written by the controller as a PolicyEndpoint) is applied by the restarted agent.
    const agent = n.node.policyAgent!;
    // An allowed connect is answered by the pod's kernel at once: a long timeout only keeps a loaded machine's
    // late timers from counting as a drop.
    const allowed = probeLoop(pp, client, [web.ip], 80, 1_000);
    const denied = probeLoop(pp, intruder, [web.ip], 80, 300);
    let tKill = 0;
    let tDown = 0;
    let tUp = 0;
    try {
      await new Promise((r) => setTimeout(r, 300));
      tKill = performance.now();
      await agent.kill9();
      tDown = performance.now();
      const cur = c.kube.api.store.get(NP_RESOURCE, 'shop', 'web-policy');
      c.kube.api.store.update(
        NP_RESOURCE,
        'shop',
        'web-policy',
        {
          ...cur,
          spec: {
            podSelector: { matchLabels: { role: 'web' } },
            ingress: [
              {
                from: [{ podSelector: { matchLabels: { role: 'client' } } }],
                ports: [
                  { protocol: 'TCP', port: 80 },
                  { protocol: 'TCP', port: 81 },
                ],
              },
            ],
          },
        },
        false,
      );
      await until('the controller to write web-policy’s PolicyEndpoint with port 81', async () =>
        c.kube.api.store
          .list(PE_RESOURCE, 'shop')
          .some(
            (pe) =>
              (pe['spec'] as PeSpec).policyRef.name === 'web-policy' &&
              (pe['spec'] as PeSpec).ingress?.some((r) => r.ports?.some((p) => p.port === 81)),
          ),
      );
      // Nobody applied it yet: the kernel still enforces what the killed agent left.
      expect(await pp.prober(client).probe(web.ip, 81, 500)).toBe(false);
      await agent.restart();
      tUp = performance.now();
      await until('the restarted agent to admit the client on 81', () =>
        pp.prober(client).probe(web.ip, 81, 500),
      );
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await allowed.stop();
      await denied.stop();
    }
    const clientSaw = allowed.log.get(web.ip)!;
    const intruderSaw = denied.log.get(web.ip)!;
    // The loops ran while the agent was down and while the restarted one started up and reconciled.
    for (const saw of [clientSaw, intruderSaw]) {
      expect(saw.filter((p) => p.t > tDown && p.t < tUp).length).toBeGreaterThan(0);
      expect(saw.filter((p) => p.t > tUp).length).toBeGreaterThan(0);
    }
    expect(
      clientSaw.filter((p) => !p.ok).map((p) => Math.round(p.t - tKill)),
      'allowed probes (client → web:80) that failed, ms after the kill',
    ).toEqual([]);
    expect(
      intruderSaw.filter((p) => p.ok).map((p) => Math.round(p.t - tKill)),
      'denied probes (intruder → web:80) that passed, ms after the kill',
    ).toEqual([]);
    expect(await pp.prober(intruder).probe(web.ip, 81, 1_000)).toBe(false);
  }, 240_000);
});
