// The Kubernetes API stand-in: an HTTP server speaking the REST conventions client-node relies on (get, list with
// label/field selectors, watch with resourceVersion and 410 Gone, create, update with optimistic locking, three
// patch types, delete), Status objects for errors, minimal discovery. Plain HTTP with any bearer token.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyPatch } from './patch.js';
import { type ResourceDef, type Target, apiVersionOf, parsePath, storeKey } from './resources.js';
import { fieldSelector, labelSelector } from './selectors.js';
import { KubeError, KubeStore, type Obj } from './store.js';

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  status: number;
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KubeError(400, 'BadRequest', 'request body is not valid JSON');
  }
}

export class KubeServer {
  readonly store = new KubeStore();
  readonly requests: RequestRecord[] = [];
  readonly server: Server;
  private readonly watches = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((e: unknown) => {
        const k = e instanceof KubeError ? e : new KubeError(500, 'InternalError', String(e));
        this.reply(req, res, k.code, status(k.code, k.reason, k.message));
      });
    });
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** End every open watch stream (as an API server does when it restarts or times a watch out); data stays. */
  dropWatches(): void {
    for (const w of this.watches) w.end();
    this.watches.clear();
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.destroy();
    this.watches.clear();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private reply(req: IncomingMessage, res: ServerResponse, code: number, obj: unknown): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search, status: code });
    if (res.headersSent) return void res.end();
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(obj));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    if (p === '/version')
      return this.reply(req, res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-vpccni-sim' });
    if (p === '/api')
      return this.reply(req, res, 200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [],
      });
    if (p === '/apis')
      return this.reply(req, res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    const t = parsePath(p);
    if (!t) throw new KubeError(404, 'NotFound', `the server could not find the requested resource (${p})`);
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    if (method === 'GET' && !t.name && (q.get('watch') === 'true' || q.get('watch') === '1'))
      return this.watch(req, res, t, q);
    if (method === 'GET' && !t.name) return this.reply(req, res, 200, this.list(t, q));
    if (method === 'GET')
      return this.reply(req, res, 200, this.store.get(storeKey(t.def), t.namespace, t.name!));
    if (method === 'POST' && !t.name) {
      const o = this.normalize((await body(req)) as Obj, t.def);
      return this.reply(req, res, 201, this.store.create(storeKey(t.def), t.namespace, o));
    }
    if (!t.name) throw new KubeError(405, 'MethodNotAllowed', `${method} needs a name`);
    if (method === 'PUT') {
      const o = this.normalize((await body(req)) as Obj, t.def);
      return this.reply(req, res, 200, this.store.update(storeKey(t.def), t.namespace, t.name, o));
    }
    if (method === 'PATCH') {
      const patch = await body(req);
      const cur = this.store.get(storeKey(t.def), t.namespace, t.name);
      const next = applyPatch(cur, req.headers['content-type'] ?? '', patch) as Obj;
      // A patch that names a resourceVersion is an optimistic lock (CNINode feature updates rely on it).
      const locked = (patch as { metadata?: { resourceVersion?: string } } | undefined)?.metadata
        ?.resourceVersion;
      const checked = locked
        ? next
        : { ...next, metadata: { ...next.metadata, resourceVersion: cur.metadata.resourceVersion } };
      return this.reply(
        req,
        res,
        200,
        this.store.update(storeKey(t.def), t.namespace, t.name, checked as Obj),
      );
    }
    if (method === 'DELETE')
      return this.reply(req, res, 200, this.store.delete(storeKey(t.def), t.namespace, t.name));
    throw new KubeError(405, 'MethodNotAllowed', `method ${method} not allowed`);
  }

  private normalize(o: Obj | undefined, def: ResourceDef): Obj {
    if (!o || typeof o !== 'object' || typeof o.metadata !== 'object')
      throw new KubeError(400, 'BadRequest', 'body must be an object with metadata');
    return { ...o, apiVersion: apiVersionOf(def), kind: def.kind };
  }

  private selected(t: Target, q: URLSearchParams): (o: Obj) => boolean {
    const l = labelSelector(q.get('labelSelector'));
    const f = fieldSelector(q.get('fieldSelector'));
    return (o) => l(o) && f(o);
  }

  private list(t: Target, q: URLSearchParams): unknown {
    const keep = this.selected(t, q);
    return {
      kind: `${t.def.kind}List`,
      apiVersion: apiVersionOf(t.def),
      metadata: { resourceVersion: String(this.store.currentRv) },
      items: this.store.list(storeKey(t.def), t.namespace).filter(keep),
    };
  }

  private watch(req: IncomingMessage, res: ServerResponse, t: Target, q: URLSearchParams): void {
    const keep = this.selected(t, q);
    const key = storeKey(t.def);
    const from = Number(q.get('resourceVersion') ?? '0');
    const mine = (o: Obj) => (t.namespace === undefined || o.metadata.namespace === t.namespace) && keep(o);
    this.requests.push({
      method: 'WATCH',
      path: new URL(req.url ?? '/', 'http://x').pathname,
      query: q.toString(),
      status: 200,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // the client's watch() resolves once the headers arrive
    // Events between a dropped watch's end and its close are not for it.
    const send = (type: string, object: unknown) =>
      res.writableEnded || res.write(`${JSON.stringify({ type, object })}\n`);
    if (from > 0 && from < this.store.oldestRv) {
      send('ERROR', status(410, 'Expired', `too old resource version: ${from} (${this.store.oldestRv})`));
      res.end();
      return;
    }
    if (from > 0) {
      for (const e of this.store.history)
        if (e.rv > from && e.resource === key && mine(e.object)) send(e.type, e.object);
    } else for (const o of this.store.list(key, t.namespace).filter(keep)) send('ADDED', o);
    const off = this.store.onEvent((e) => {
      if (e.resource === key && mine(e.object)) send(e.type, e.object);
    });
    this.watches.add(res);
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      off();
      clearTimeout(timer);
      this.watches.delete(res);
    });
  }
}
