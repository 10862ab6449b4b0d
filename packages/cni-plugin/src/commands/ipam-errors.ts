// Maps ipamd RPC failures to CNI errors that say what to do.
import { GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import { CniCode, CniError } from '../cni/errors.js';

export function socketPath(endpoint: string): string {
  return endpoint.replace(/^unix:(\/\/)?/, '');
}

export function isUnreachable(err: unknown): boolean {
  return err instanceof RpcError && err.code === GrpcStatus.UNAVAILABLE;
}

/** An RPC failure as a CNI error: unreachable/timeouts are "try again later" (11). */
export function rpcFailure(err: unknown, prefix: string, endpoint: string): CniError {
  const text = err instanceof Error ? err.message : String(err);
  if (isUnreachable(err)) {
    return new CniError(
      CniCode.TryAgainLater,
      `${prefix}: ipamd is not listening on ${socketPath(endpoint)}: ${text}`,
      'is the aws-node pod running on this node? check /var/log/aws-routed-eni/ipamd.log',
    );
  }
  if (err instanceof RpcError && err.code === GrpcStatus.DEADLINE_EXCEEDED) {
    return new CniError(
      CniCode.TryAgainLater,
      `${prefix}: ipamd did not answer in time: ${text}`,
      'ipamd may be waiting for an ENI attachment; check /var/log/aws-routed-eni/ipamd.log',
    );
  }
  return new CniError(CniCode.Internal, `${prefix}: ${text}`, 'check /var/log/aws-routed-eni/ipamd.log');
}
