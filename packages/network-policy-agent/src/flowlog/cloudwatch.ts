// Flow events to CloudWatch Logs: log group /aws/eks/<cluster>/cluster (cluster = EC2 tag aws:eks:cluster-name of
// this instance; /aws/k8s-cluster/cluster without it), stream aws-network-policy-agent-audit-<uuid>. Unlike
// upstream (one PutLogEvents per event, a panic when the stream cannot be made), events are batched (flush every
// second or at 10 000 events / 1 MiB) and failures are retried with the batch kept, bounded in memory.
import { randomUUID } from 'node:crypto';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogGroupsCommand,
  type InputLogEvent,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeTagsCommand } from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';

export const CLUSTER_NAME_TAG = 'aws:eks:cluster-name';
const MAX_BATCH_EVENTS = 10_000;
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD = 26;
const MAX_QUEUED = 100_000;

export function logGroupName(cluster: string | undefined): string {
  return cluster ? `/aws/eks/${cluster}/cluster` : '/aws/k8s-cluster/cluster';
}

export async function clusterNameFromTags(ec2: EC2Client, instanceId: string): Promise<string | undefined> {
  const r = await ec2.send(
    new DescribeTagsCommand({
      Filters: [
        { Name: 'resource-id', Values: [instanceId] },
        { Name: 'key', Values: [CLUSTER_NAME_TAG] },
      ],
    }),
  );
  return r.Tags?.find((t) => t.Key === CLUSTER_NAME_TAG)?.Value;
}

export interface CloudWatchSinkOptions {
  client: CloudWatchLogsClient;
  logGroup: string;
  logger: Logger;
  flushMs?: number;
  stream?: string;
}

export class CloudWatchSink {
  readonly stream: string;
  private queue: InputLogEvent[] = [];
  private streamReady = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  dropped = 0;

  constructor(private readonly o: CloudWatchSinkOptions) {
    this.stream = o.stream ?? `aws-network-policy-agent-audit-${randomUUID()}`;
  }

  /** Makes sure the log group exists (a failure here is fatal for the agent, as upstream). */
  async init(): Promise<void> {
    const { client, logGroup } = this.o;
    const found = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: logGroup }));
    if (found.logGroups?.some((g) => g.logGroupName === logGroup)) return;
    try {
      await client.send(new CreateLogGroupCommand({ logGroupName: logGroup }));
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceAlreadyExistsException') throw err;
    }
  }

  push(message: string, timestamp = Date.now()): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    this.queue.push({ message, timestamp });
    if (this.queue.length >= MAX_BATCH_EVENTS) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.o.flushMs ?? 1_000);
      this.timer.unref();
    }
  }

  /** Sends what is queued; resolves when it went out or failed (then it stays queued for the next flush). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing ??= this.send().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0 && !this.timer) {
        this.timer = setTimeout(() => void this.flush(), this.o.flushMs ?? 1_000);
        this.timer.unref();
      }
    });
    return this.flushing;
  }

  private async send(): Promise<void> {
    const { client, logGroup, logger } = this.o;
    try {
      if (!this.streamReady) {
        try {
          await client.send(
            new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: this.stream }),
          );
        } catch (err) {
          if ((err as { name?: string }).name !== 'ResourceAlreadyExistsException') throw err;
        }
        this.streamReady = true;
      }
      while (this.queue.length > 0) {
        let bytes = 0;
        let n = 0;
        while (n < this.queue.length && n < MAX_BATCH_EVENTS) {
          const size = Buffer.byteLength(this.queue[n]!.message ?? '') + EVENT_OVERHEAD;
          if (bytes + size > MAX_BATCH_BYTES) break;
          bytes += size;
          n++;
        }
        const batch = this.queue.slice(0, n);
        await client.send(
          new PutLogEventsCommand({ logGroupName: logGroup, logStreamName: this.stream, logEvents: batch }),
        );
        this.queue = this.queue.slice(n);
      }
    } catch (err) {
      logger.warn(
        { err, logGroup, stream: this.stream, queued: this.queue.length },
        'CloudWatch Logs publish failed; will retry',
      );
    }
  }
}
