// Giving an ENI back to EC2 (docs/architecture.md#warm-pool, "Freeing an ENI"): find its attachment, detach
// (retried), let the detach settle, delete (retried on any error, which is how "in use" while the detach
// completes is ridden out). Gone already = done.
import {
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { type CallObserver, ec2Call, errorCode, withRetries } from './ec2-call.js';

export interface FreeEniOptions {
  onCall?: CallObserver | undefined;
  /** Pause between detach and delete (upstream 2 s). */
  settleMs?: number;
  /** First backoff step of the retry loops (upstream 200 ms detach, 500 ms delete); tests shrink it. */
  backoffScale?: number;
}

const NOT_FOUND = 'InvalidNetworkInterfaceID.NotFound';

export async function deleteEni(ec2: EC2Client, id: string, o: FreeEniOptions = {}): Promise<void> {
  await withRetries(
    () =>
      ec2Call(
        'DeleteNetworkInterface',
        () => ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })),
        o,
      )
        .then(() => undefined)
        .catch((e: unknown) => {
          if (errorCode(e) !== NOT_FOUND) throw e;
        }),
    { attempts: 12, firstMs: 500 * (o.backoffScale ?? 1), maxMs: 60_000 },
  );
}

/** Detach and delete; resolves false when the ENI could not be detached (it stays attached, the reconcile re-adds it). */
export async function freeEni(ec2: EC2Client, id: string, o: FreeEniOptions = {}): Promise<boolean> {
  let attachmentId: string | undefined;
  try {
    const d = await ec2Call(
      'DescribeNetworkInterfaces',
      () => ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] })),
      o,
    );
    attachmentId = d.NetworkInterfaces?.[0]?.Attachment?.AttachmentId;
  } catch (e) {
    if (errorCode(e) === NOT_FOUND) return true;
    return false;
  }
  if (attachmentId) {
    try {
      await withRetries(
        () =>
          ec2Call(
            'DetachNetworkInterface',
            () => ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId })),
            o,
          ),
        { attempts: 12, firstMs: 200 * (o.backoffScale ?? 1), maxMs: 60_000 },
      );
    } catch {
      return false;
    }
    await new Promise((r) => setTimeout(r, o.settleMs ?? 2_000));
  }
  await deleteEni(ec2, id, o);
  return true;
}
