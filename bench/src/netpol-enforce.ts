// The agent's side of `pnpm bench netpol`: enforce_p50_ms / enforce_p99_ms (a PolicyEndpoint written to the API
// stand-in → the verdict of a TCP prober between two pod namespaces seen flipping, over ≥ 100 changes that
// alternately deny and allow) and strict_add_extra_ms (EnforceNpToPod for a new pod in strict mode minus standard,
// i.e. what strict mode adds to an aws-cni ADD; 20 pods each, interleaved). Needs root and the eBPF datapath.
// The lead's `netpol` bench joins these fields into its JSON line; run alone, the last line is this object.
import { DATAPATH_AVAILABLE } from '@vpc-cni/network-policy-agent/agent-datapath';
import { NetpolLab } from '@vpc-cni/e2e/netpol';

export interface NetpolEnforceResult {
  enforce_p50_ms: number;
  enforce_p99_ms: number;
  enforce_changes: number;
  strict_add_extra_ms: number;
  strict_add_ms: number;
  standard_add_ms: number;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const median = (xs: number[]) => pct(xs, 50);
const round = (n: number) => Math.round(n * 100) / 100;

async function waitFor(
  flips: [number, string][],
  after: number,
  verdict: string,
  timeoutMs = 5_000,
): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const hit = flips.find(([t, v]) => t >= after && v === verdict);
    if (hit) return hit[0];
    if (Date.now() > until)
      throw new Error(`no "${verdict}" verdict within ${timeoutMs} ms of a policy change`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

export async function benchNetpolEnforce(
  o: { changes?: number; pods?: number } = {},
): Promise<NetpolEnforceResult> {
  if (!DATAPATH_AVAILABLE) throw new Error('netpol-enforce needs a build that includes the eBPF datapath');
  const changes = Math.max(100, o.changes ?? 100);
  const pods = o.pods ?? 20;
  const latencies: number[] = [];
  const std: number[] = [];
  const strict: number[] = [];
  const lab = await NetpolLab.start({ mode: 'standard' });
  try {
    lab.addPod('server');
    lab.addPod('client');
    await lab.enforce('server', 'standard');
    await lab.enforce('client', 'standard');
    const client = lab.pods.get('client')!.ip;
    const spec = (allow: boolean) => ({
      policyRef: { name: 'flip', namespace: 'x' },
      podIsolation: ['Ingress'],
      podSelectorEndpoints: [lab.endpoint('server')],
      ingress: allow ? [{ cidr: `${client}/32`, ports: [{ protocol: 'TCP', port: 80 }] }] : [],
    });
    const w = lab.watch('client', 'server');
    await waitFor(w.flips, 0, 'ok');
    for (let i = 0; i < changes; i++) {
      const allow = i % 2 === 1;
      const t0 = Date.now();
      lab.putPolicyEndpoint('flip-abcde', spec(allow));
      const t1 = await waitFor(w.flips, t0, allow ? 'ok' : 'fail');
      latencies.push(t1 - t0);
    }
    w.stop();
    // strict vs standard ADD cost: fresh pods, interleaved.
    for (let i = 0; i < pods; i++) {
      lab.addPod(`std-${i}`);
      lab.addPod(`strict-${i}`);
    }
    for (let i = 0; i < pods; i++) {
      std.push(await lab.enforce(`std-${i}`, 'standard'));
      strict.push(await lab.enforce(`strict-${i}`, 'strict'));
    }
  } finally {
    await lab.stop();
  }
  return {
    enforce_p50_ms: round(pct(latencies, 50)),
    enforce_p99_ms: round(pct(latencies, 99)),
    enforce_changes: latencies.length,
    strict_add_extra_ms: round(median(strict) - median(std)),
    strict_add_ms: round(median(strict)),
    standard_add_ms: round(median(std)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchNetpolEnforce().then(
    (r) => console.log(JSON.stringify(r)),
    (err: unknown) => {
      console.error(`netpol-enforce: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
