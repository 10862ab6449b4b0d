// An in-memory AddressSupply for tests, benches and the simulator-less demo: hands out secondary IPs from a list
// onto fixed ENIs, with an optional delay (an "attach") and batching of concurrent requests.
import type { Datastore } from '../store/index.js';
import { type AddressSupply, CapacityError } from './supply.js';

export interface MemorySupplyOptions {
  /** ENI id → addresses it may still receive, in order. */
  reserve: Map<string, string[]>;
  /** Addresses added per grow call (like one AssignPrivateIpAddresses with a count). */
  batch?: number;
  delayMs?: number;
}

export class MemorySupply implements AddressSupply {
  calls = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly ds: Datastore,
    private readonly o: MemorySupplyOptions,
  ) {}

  grow(need: number): Promise<void> {
    // Concurrent shortfalls share the one call in flight.
    this.inFlight ??= this.growNow(need).finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async growNow(need: number): Promise<void> {
    this.calls++;
    if (this.o.delayMs) await new Promise((r) => setTimeout(r, this.o.delayMs));
    let added = 0;
    const want = Math.max(need, this.o.batch ?? 1);
    for (const [eni, list] of this.o.reserve) {
      while (added < want && list.length > 0) {
        this.ds.addCidr(eni, `${list.shift() as string}/32`, false);
        added++;
      }
    }
    if (added === 0)
      throw new CapacityError('no-eni-slots', 'no ENI can take more addresses (test reserve empty)');
  }
}
