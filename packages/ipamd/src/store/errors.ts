// Datastore errors. The messages are upstream's where they are visible on the wire or in logs
// (docs/architecture.md#datastore).
export class DatastoreError extends Error {
  constructor(
    readonly kind:
      | 'duplicate-eni'
      | 'unknown-eni'
      | 'duplicate-cidr'
      | 'unknown-cidr'
      | 'cidr-in-use'
      | 'eni-in-use'
      | 'no-available'
      | 'family-mismatch'
      | 'address-conflict',
    message: string,
  ) {
    super(message);
    this.name = 'DatastoreError';
  }
}

export const NO_AVAILABLE = 'AssignPodIPAddress: no available IP/Prefix addresses';
/** The exact text the CNI plugin recognises as "already released" (docs/architecture.md#one-pod-del). */
export const UNKNOWN_POD = 'datastore: unknown pod';
