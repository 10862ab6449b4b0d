// One pool mutation at a time: on-demand growth, shrinking, freeing ENIs and reconciling all read EC2 and then
// change the datastore; interleaving them could e.g. drop an ENI created after a reconcile's Describe.
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
