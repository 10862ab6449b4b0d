// Leaked-ENI cleanup (docs/architecture.md#warm-pool, "Leaked ENIs"): detached ENIs that a vpc-cni created
// (description aws-K8S-…, tagged with an instance id, and this cluster's tag when CLUSTER_NAME is set) and
// that are older than 5 minutes are deleted. A missing or unparsable creation tag is set to now and the ENI
// skipped (upstream deletes on a bad tag; we do not).
import {
  CreateTagsCommand,
  DescribeNetworkInterfacesCommand,
  type EC2Client,
  type Filter,
} from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';
import { type CallObserver, ec2Call, errorCode, withRetries } from './ec2-call.js';
import type { PoolObserver } from './observer.js';
import { deleteEni } from './free-eni.js';

export const LEAK_GRACE_MS = 5 * 60_000;
const CREATED_AT = 'node.k8s.amazonaws.com/createdAt';

export interface LeakSweepOptions {
  vpcId: string;
  clusterName?: string | undefined;
  logger: Logger;
  onCall?: CallObserver | undefined;
  observer?: PoolObserver | undefined;
  now?: () => number;
  backoffScale?: number;
}

export interface LeakSweepResult {
  deleted: string[];
  tagged: string[];
  young: string[];
}

const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

export async function sweepLeakedEnis(ec2: EC2Client, o: LeakSweepOptions): Promise<LeakSweepResult> {
  const now = (o.now ?? Date.now)();
  const filters: Filter[] = [
    { Name: 'tag-key', Values: ['node.k8s.amazonaws.com/instance_id'] },
    { Name: 'status', Values: ['available'] },
    { Name: 'vpc-id', Values: [o.vpcId] },
    ...(o.clusterName ? [{ Name: 'tag:cluster.k8s.amazonaws.com/name', Values: [o.clusterName] }] : []),
  ];
  const out: LeakSweepResult = { deleted: [], tagged: [], young: [] };
  let token: string | undefined;
  do {
    const page = await ec2Call(
      'DescribeNetworkInterfaces',
      () =>
        ec2.send(
          new DescribeNetworkInterfacesCommand({ Filters: filters, MaxResults: 1000, NextToken: token }),
        ),
      o,
    );
    token = page.NextToken;
    for (const eni of page.NetworkInterfaces ?? []) {
      const id = eni.NetworkInterfaceId;
      if (!id || !eni.Description?.startsWith('aws-K8S-')) continue;
      const tag = eni.TagSet?.find((t) => t.Key === CREATED_AT)?.Value;
      const created = tag ? Date.parse(tag) : NaN;
      if (Number.isNaN(created)) {
        await withRetries(
          () =>
            ec2Call(
              'CreateTags',
              () =>
                ec2.send(
                  new CreateTagsCommand({
                    Resources: [id],
                    Tags: [{ Key: CREATED_AT, Value: rfc3339(new Date(now)) }],
                  }),
                ),
              o,
            ),
          { attempts: 5, firstMs: 200 * (o.backoffScale ?? 1), maxMs: 5_000 },
        ).catch((e: unknown) => o.logger.warn({ eni: id, err: e }, 'could not tag a possibly leaked ENI'));
        out.tagged.push(id);
        continue;
      }
      if (now - created < LEAK_GRACE_MS) {
        out.young.push(id);
        continue;
      }
      try {
        await deleteEni(ec2, id, o);
        out.deleted.push(id);
        o.logger.info({ eni: id, createdAt: tag }, 'deleted a leaked ENI');
      } catch (e) {
        o.observer?.utilsError('cleanUpLeakedENIDeleteErr', errorCode(e));
        o.logger.warn({ eni: id, err: e }, 'could not delete a leaked ENI');
      }
    }
  } while (token);
  return out;
}
