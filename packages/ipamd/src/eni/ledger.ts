// What the pool knows about each ENI beyond the datastore (which holds its device, table, subnet and CIDR):
// when it entered the pool (ENIs younger than 60 s are never freed), and what host plumbing needs besides the
// datastore's facts (MAC, the ENI's own address).
export interface EniFacts {
  addedAtMs: number;
  mac?: string;
  primaryIp?: string;
}

export class EniLedger {
  private readonly facts = new Map<string, EniFacts>();

  constructor(readonly now: () => number = () => Date.now()) {}

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
