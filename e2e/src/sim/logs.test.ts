// The simulator's CloudWatch Logs endpoint, judged by the real @aws-sdk/client-cloudwatch-logs, and
// aws-network-policy-agent's flow-log path against it: cluster name from the instance's EC2 tag (DescribeTags),
// log group created once, records in upstream's text, batched, and kept through a throttled call.
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentMetrics } from '@vpc-cni/network-policy-agent/http';
import {
  CloudWatchSink,
  clusterNameFromTags,
  handleFlowEvent,
  logGroupName,
} from '@vpc-cni/network-policy-agent/flowlog';
import { silentLogger } from '@vpc-cni/shared/logging';
import type { Sim } from './sim.js';
import { SG_1, SUBNET_A, startSmall } from './testkit.js';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

const clients = (s: Sim) => {
  const opts = {
    region: 'us-west-2',
    endpoint: s.ec2Url,
    credentials: { accessKeyId: 'AKIASIMULATOR0000000', secretAccessKey: 'simulator-secret' },
  };
  return { logs: new CloudWatchLogsClient(opts), ec2: new EC2Client(opts) };
};

const errName = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as Error).name;
  }
};

describe('CloudWatch Logs in the simulator', () => {
  it('answers the SDK with the service errors', async () => {
    sim = await startSmall();
    const { logs } = clients(sim);
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/eks/c1/cluster' }));
    expect(await errName(logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/eks/c1/cluster' })))).toBe(
      'ResourceAlreadyExistsException',
    );
    expect(
      await errName(logs.send(new CreateLogStreamCommand({ logGroupName: '/nope', logStreamName: 's' }))),
    ).toBe('ResourceNotFoundException');
    await logs.send(new CreateLogStreamCommand({ logGroupName: '/aws/eks/c1/cluster', logStreamName: 's' }));
    const now = Date.now();
    expect(
      await errName(
        logs.send(
          new PutLogEventsCommand({
            logGroupName: '/aws/eks/c1/cluster',
            logStreamName: 's',
            logEvents: [
              { timestamp: now, message: 'b' },
              { timestamp: now - 1000, message: 'a' },
            ],
          }),
        ),
      ),
    ).toBe('InvalidParameterException');
    const put = await logs.send(
      new PutLogEventsCommand({
        logGroupName: '/aws/eks/c1/cluster',
        logStreamName: 's',
        logEvents: [
          { timestamp: now - 15 * 24 * 3600_000, message: 'too old' },
          { timestamp: now - 15 * 24 * 3600_000 + 1, message: 'too old too' },
        ],
      }),
    );
    expect(put.rejectedLogEventsInfo).toEqual({ tooOldLogEventEndIndex: 1 });
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: '/aws/eks/c1/cluster',
        logStreamName: 's',
        logEvents: [{ timestamp: now, message: 'kept' }],
      }),
    );
    const got = await logs.send(
      new GetLogEventsCommand({ logGroupName: '/aws/eks/c1/cluster', logStreamName: 's' }),
    );
    expect(got.events?.map((e) => e.message)).toEqual(['kept']);
  });

  it("the agent's flow logs reach the cluster's log group, in upstream's record text, through a throttled call", async () => {
    sim = await startSmall();
    const node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    node.instance.tags.set('aws:eks:cluster-name', 'shop-prod');
    const { logs, ec2 } = clients(sim);
    const cluster = await clusterNameFromTags(ec2, node.instance.id);
    expect(cluster).toBe('shop-prod');
    const other = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    expect(await clusterNameFromTags(ec2, other.instance.id)).toBeUndefined();
    expect(logGroupName(undefined)).toBe('/aws/k8s-cluster/cluster');

    const sink = new CloudWatchSink({
      client: logs,
      logGroup: logGroupName(cluster),
      logger: silentLogger,
      flushMs: 20,
    });
    await sink.init();
    await sink.init(); // group exists: no second create
    const metrics = new AgentMetrics();
    const o = {
      family: 'ipv4' as const,
      logger: silentLogger,
      metrics,
      nodeName: 'ip-10-0-1-5',
      debug: false,
      cloudWatch: sink,
    };
    sim.faults.config.failNext['PutLogEvents'] = [{ code: 'ThrottlingException', message: 'Rate exceeded' }];
    const ev = {
      srcIp: '10.0.1.7',
      srcPort: 40000,
      destIp: '10.0.1.9',
      destPort: 80,
      protocol: 6,
      packetSize: 60,
      isEgress: false,
      tier: 2,
    };
    handleFlowEvent({ ...ev, verdict: 'DENY' }, o);
    handleFlowEvent({ ...ev, verdict: 'ACCEPT' }, o); // not published below log level debug
    handleFlowEvent({ ...ev, verdict: 'DENY', destPort: 81, isEgress: true }, o);
    await sink.flush(); // throttled: kept
    await sink.flush();
    const got = await logs.send(
      new GetLogEventsCommand({ logGroupName: '/aws/eks/shop-prod/cluster', logStreamName: sink.stream }),
    );
    expect(got.events?.map((e) => e.message)).toEqual([
      'Node: ip-10-0-1-5;SIP: 10.0.1.7;SPORT: 40000;DIP: 10.0.1.9;DPORT: 80;PROTOCOL: TCP;PolicyVerdict: DENY;Tier: NETWORK_POLICY',
      'Node: ip-10-0-1-5;SIP: 10.0.1.7;SPORT: 40000;DIP: 10.0.1.9;DPORT: 81;PROTOCOL: TCP;PolicyVerdict: DENY;Tier: NETWORK_POLICY',
    ]);
    expect(sink.stream).toMatch(/^aws-network-policy-agent-audit-[0-9a-f-]{36}$/);
    expect(sim.faults.calls.filter((c) => c.action === 'PutLogEvents').map((c) => c.outcome)).toEqual([
      'ThrottlingException',
      'OK',
    ]);
    expect(sim.faults.calls.filter((c) => c.action === 'CreateLogGroup')).toHaveLength(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain('network_policy_drop_count_total{direction="ingress"} 1');
    expect(text).toContain('network_policy_drop_count_total{direction="egress"} 1');
    expect(text).toContain('network_policy_drop_bytes_total{direction="ingress"} 60');
  });
});
