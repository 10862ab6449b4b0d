// Flow logs: events from the datapath's ring-buffer reader → drop metrics, log lines, CloudWatch records.
import type { Family, FlowEvent, PolicyDatapath } from '../datapath/contract.js';
import type { Logger } from '@vpc-cni/shared/logging';
import type { AgentMetrics } from '../http/metrics.js';
import type { CloudWatchSink } from './cloudwatch.js';
import { cloudWatchRecord, directionOf, flowLine } from './format.js';

export { flowLine, cloudWatchRecord, protocolName, tierName } from './format.js';
export { CloudWatchSink, clusterNameFromTags, logGroupName, CLUSTER_NAME_TAG } from './cloudwatch.js';
// The two SDK clients the CloudWatch sink needs, named here so that loading flow logs (run.ts) imports these
// classes, not the whole client packages: a dynamic import() of a package keeps every one of its exports in the
// bundle (docs/build.md "Memory").
export { EC2Client } from '@aws-sdk/client-ec2';
export { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';

export interface FlowLogOptions {
  family: Family;
  logger: Logger;
  metrics: AgentMetrics;
  nodeName: string;
  /** ACCEPT events go to CloudWatch only at log level debug (as upstream). */
  debug: boolean;
  cloudWatch?: CloudWatchSink;
}

export function handleFlowEvent(e: FlowEvent, o: FlowLogOptions): void {
  if (e.verdict === 'DENY') {
    o.metrics.dropCount.inc({ direction: directionOf(e) });
    o.metrics.dropBytes.inc({ direction: directionOf(e) }, e.packetSize);
  }
  const line = flowLine(e, o.family);
  o.logger[line.level](line.fields, line.msg);
  if (o.cloudWatch && (e.verdict === 'DENY' || o.debug)) o.cloudWatch.push(cloudWatchRecord(e, o.nodeName));
}

export function startFlowLogs(datapath: PolicyDatapath, o: FlowLogOptions): () => Promise<void> {
  return datapath.readEvents((e) => handleFlowEvent(e, o));
}
