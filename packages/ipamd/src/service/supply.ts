// Where addresses come from when the datastore has none free: the pool manager (EC2-backed in production, an
// in-memory one in tests and benches). AddNetwork asks it to grow and waits, instead of failing at once.

/** Why the pool cannot grow; the text reaches the CNI error the user sees. */
export class CapacityError extends Error {
  constructor(
    readonly reason:
      'max-pods' | 'no-eni-slots' | 'subnet-exhausted' | 'ec2-throttled' | 'provisioning-disabled' | 'other',
    message: string,
  ) {
    super(message);
    this.name = 'CapacityError';
  }
}

export interface AddressSupply {
  /**
   * Ask for at least `need` more free addresses. Resolves once addresses were added to the datastore, rejects
   * with CapacityError when the pool cannot grow. Concurrent calls may be served by one EC2 call.
   */
  grow(need: number): Promise<void>;
}

/** A supply that never grows (e.g. DISABLE_NETWORK_RESOURCE_PROVISIONING). */
export const noSupply = (why = 'network resource provisioning is disabled on this node'): AddressSupply => ({
  grow: () => Promise.reject(new CapacityError('provisioning-disabled', why)),
});
