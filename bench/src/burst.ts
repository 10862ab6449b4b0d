// `pnpm bench burst`: a fresh simulated m5.4xlarge (8 ENIs × 29 pod addresses) with the simulator's realistic EC2
// latencies; ipamd (in-process, EC2 mode, no host networking: this bench never touches a netns) pre-scales, then
// 200 AddNetwork calls arrive at once over its unix socket. Then the node rests and EC2 calls are counted.
// Last line: {"pods","failed","all_done_s","ec2_floor_s","ec2_calls",{...},"steady_calls_per_min"} (steady: the
// 65 s after a 10 s settle, so at least one reconcile falls in it; BENCH_STEADY_S changes the window).
// ec2_floor_s: the simulator's own latency for the minimal call sequence that can serve the burst: the pods beyond
// the pre-scaled primary ENI need ceil(rest/29) new ENIs, which EC2 can create and attach in parallel, so the
// floor is one ENI's critical path (DescribeInstances for device indexes, Create with its addresses, Attach, the
// attach becoming visible, Modify DeleteOnTermination).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sim, realisticTiming } from '@vpc-cni/e2e/sim';
import { startAgent } from '@vpc-cni/ipamd/agent';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';

const PODS = Number(process.env['BENCH_PODS'] ?? 200);
const STEADY_S = Number(process.env['BENCH_STEADY_S'] ?? 65);
const SUBNET = 'subnet-0aaaaaaaaaaaaaaaa';
const SG = 'sg-01111111111111111';

const timing = realisticTiming();
const sim = await Sim.start({
  vpc: { cidrs: ['10.0.0.0/16'] },
  subnets: [{ id: SUBNET, cidr: '10.0.16.0/20', az: 'us-west-2a' }],
  securityGroups: [{ id: SG, name: 'nodes' }],
  faults: timing,
});
const node = await sim.launch({ type: 'm5.4xlarge', subnetId: SUBNET, groups: [SG] });
const env = sim.envFor(node.instance.id);
process.env['AWS_ACCESS_KEY_ID'] = env['AWS_ACCESS_KEY_ID'];
process.env['AWS_SECRET_ACCESS_KEY'] = env['AWS_SECRET_ACCESS_KEY'];
const dir = mkdtempSync(join(tmpdir(), 'vct-bench-burst-'));
const agent = await startAgent(
  {
    ...env,
    VPC_CNI_IPAMD_SOCKET: join(dir, 'ipamd.sock'),
    AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
    DISABLE_INTROSPECTION: 'true',
    DISABLE_METRICS: 'true',
    DISABLE_LEAKED_ENI_CLEANUP: 'true',
    VPC_CNI_ADD_WAIT_SECONDS: '60',
  },
  silentLogger,
  {
    hostNetworking: false,
    // Stand-in for "the hot-plugged link appeared": wait until the simulator completes the attach, as ipamd
    // waits for the link before it uses an ENI (no netns here, so no real link).
    plumbing: {
      up: async (e) => {
        while (sim.world.eni(e.id).attachment?.status !== 'attached')
          await new Promise((r) => setTimeout(r, 20));
      },
      down: async () => undefined,
    },
  },
);
const prescaled = agent.ds.stats().totalIPs;
sim.faults.resetCalls();

const client = new RpcClient({ endpoint: `unix://${join(dir, 'ipamd.sock')}`, deadlineMs: 120_000 });
const req = (i: number) => ({
  ContainerID: `burst-${i}`,
  IfName: 'eth0',
  NetworkName: 'aws-cni',
  K8S_POD_NAME: `p${i}`,
  K8S_POD_NAMESPACE: 'bench',
  K8S_POD_INFRA_CONTAINER_ID: `burst-${i}`,
  Netns: '',
  ClientVersion: '',
  RequiresMultiNICAttachment: false,
});
const t0 = performance.now();
const results = await Promise.allSettled(
  Array.from({ length: PODS }, (_, i) => client.call(CNIBackend.AddNetwork, req(i))),
);
const allDone = (performance.now() - t0) / 1000;
const failed = results.filter((r) => r.status === 'rejected');
const burstCalls = sim.faults.counts();

const lat = (a: string) => timing.latencyMs[a] ?? timing.latencyMs['*'] ?? 0;
const newEnis = Math.ceil(Math.max(0, PODS - prescaled) / 29);
const floorMs =
  newEnis === 0
    ? 0
    : lat('DescribeInstances') +
      lat('CreateNetworkInterface') +
      lat('AttachNetworkInterface') +
      timing.attachDelayMs +
      lat('ModifyNetworkInterfaceAttribute');

// Rest: the pool manager first tops the warm pool up again (WARM_ENI_TARGET=1 wants a spare ENI after the burst),
// then keeps running (2.5 s rounds, a reconcile 60 s after the last pool action). Steady = after that top-up.
await new Promise((r) => setTimeout(r, 10_000));
sim.faults.resetCalls();
await new Promise((r) => setTimeout(r, STEADY_S * 1000));
const steadyCalls = sim.faults.calls.length;

client.close();
await agent.stop();
await sim.stop();
rmSync(dir, { recursive: true, force: true });
if (failed.length) console.error('first failure:', String((failed[0] as PromiseRejectedResult).reason));
console.error(
  `prescaled ${prescaled} addresses; ${newEnis} new ENIs needed; ENIs now ${sim.world.enisOf(node.instance.id).length}`,
);
console.log(
  JSON.stringify({
    pods: PODS,
    failed: failed.length,
    all_done_s: Number(allDone.toFixed(2)),
    ec2_floor_s: floorMs / 1000,
    ec2_calls: burstCalls,
    steady_calls_per_min: Number(((steadyCalls / STEADY_S) * 60).toFixed(2)),
  }),
);
