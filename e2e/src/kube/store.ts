// The stand-in's object store: every write gets the next resourceVersion and is appended to a bounded event
// history, which watches replay from; a resourceVersion older than the history is "expired" (410 Gone).
import { randomUUID } from 'node:crypto';

export type Obj = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string; resourceVersion?: string };
};

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  resource: string;
  type: EventType;
  object: Obj;
}

export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const key = (resource: string, ns: string | undefined, name: string) => `${resource}/${ns ?? ''}/${name}`;
const clone = <T>(o: T): T => structuredClone(o);

export class KubeStore {
  private rv = 100;
  private readonly objects = new Map<string, Obj>();
  readonly history: StoreEvent[] = [];
  /** Oldest resourceVersion a watch may start from. */
  oldestRv = 100;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(private readonly maxHistory = 1000) {}

  get currentRv(): number {
    return this.rv;
  }

  onEvent(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(resource: string, type: EventType, object: Obj): void {
    const e = { rv: this.rv, resource, type, object: clone(object) };
    this.history.push(e);
    if (this.history.length > this.maxHistory) this.oldestRv = this.history.shift()!.rv;
    for (const l of this.listeners) l(e);
  }

  /** Forget all history: every watch from an older resourceVersion now gets 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.oldestRv = this.rv;
  }

  get(resource: string, ns: string | undefined, name: string): Obj {
    const o = this.objects.get(key(resource, ns, name));
    if (!o) throw new KubeError(404, 'NotFound', `${resource} "${name}" not found`);
    return clone(o);
  }

  list(resource: string, ns: string | undefined): Obj[] {
    return [...this.objects.values()]
      .filter((o) => this.resourceOf(o) === resource && (ns === undefined || o.metadata.namespace === ns))
      .map(clone);
  }

  private readonly kinds = new Map<Obj, string>();
  private resourceOf(o: Obj): string | undefined {
    return this.kinds.get(o);
  }

  create(resource: string, ns: string | undefined, obj: Obj): Obj {
    const name =
      obj.metadata.name ||
      (obj.metadata['generateName']
        ? `${String(obj.metadata['generateName'])}${randomUUID().slice(0, 5)}`
        : '');
    if (!name) throw new KubeError(422, 'Invalid', 'metadata.name: Required value');
    const k = key(resource, ns, name);
    if (this.objects.has(k))
      throw new KubeError(409, 'AlreadyExists', `${resource} "${name}" already exists`);
    this.rv++;
    const o = clone(obj);
    o.metadata = {
      ...o.metadata,
      name,
      ...(ns ? { namespace: ns } : {}),
      uid: randomUUID(),
      resourceVersion: String(this.rv),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      generation: 1,
    };
    this.objects.set(k, o);
    this.kinds.set(o, resource);
    this.emit(resource, 'ADDED', o);
    return clone(o);
  }

  /** Replace an object; a stale metadata.resourceVersion is a 409 Conflict. */
  update(resource: string, ns: string | undefined, name: string, obj: Obj, checkRv = true): Obj {
    const k = key(resource, ns, name);
    const old = this.objects.get(k);
    if (!old) throw new KubeError(404, 'NotFound', `${resource} "${name}" not found`);
    const want = obj.metadata.resourceVersion;
    if (checkRv && want && want !== old.metadata.resourceVersion)
      throw new KubeError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    this.rv++;
    const o = clone(obj);
    const specChanged = JSON.stringify(o['spec']) !== JSON.stringify(old['spec']);
    o.metadata = {
      ...o.metadata,
      name,
      ...(ns ? { namespace: ns } : {}),
      uid: old.metadata['uid'],
      creationTimestamp: old.metadata['creationTimestamp'],
      resourceVersion: String(this.rv),
      generation: Number(old.metadata['generation'] ?? 1) + (specChanged ? 1 : 0),
    };
    this.objects.set(k, o);
    this.kinds.delete(old);
    this.kinds.set(o, resource);
    this.emit(resource, 'MODIFIED', o);
    return clone(o);
  }

  delete(resource: string, ns: string | undefined, name: string): Obj {
    const k = key(resource, ns, name);
    const old = this.objects.get(k);
    if (!old) throw new KubeError(404, 'NotFound', `${resource} "${name}" not found`);
    this.objects.delete(k);
    this.kinds.delete(old);
    this.rv++;
    const gone = { ...clone(old), metadata: { ...old.metadata, resourceVersion: String(this.rv) } };
    this.emit(resource, 'DELETED', gone);
    return gone;
  }
}
