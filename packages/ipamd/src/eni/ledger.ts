// What the pool manager knows about each ENI beyond the datastore: when it entered the pool (ENIs younger than
// 60 s are never freed), and what host plumbing needs (MAC, the ENI's own address, subnet CIDR).
export interface EniFacts {
  addedAtMs: number;
  mac?: string;
  primaryIp?: string;
  subnetCidr?: string;
}

export class EniLedger {
  private readonly facts = new Map<string, EniFacts>();

  constructor(readonly now: () => number = Date.now) {}

  record(id: string, f: Omit<EniFacts, 'addedAtMs'> = {}): void {
    this.facts.set(id, { ...f, addedAtMs: this.now() });
  }

  get(id: string): EniFacts | undefined {
    return this.facts.get(id);
  }

  ageMs(id: string): number {
    const f = this.facts.get(id);
    return f ? this.now() - f.addedAtMs : 0;
  }

  forget(id: string): void {
    this.facts.delete(id);
  }
}
