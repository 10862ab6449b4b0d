// IMDS for one instance: IMDSv2 tokens (PUT /latest/api/token, TTL echoed, 401 without/with a bad token when v2 is
// required) and the metadata paths ipamd reads, answered from the world's snapshot `lagMs` old.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { close, listen } from './http-util.js';
import { imdsPaths } from './imds-paths.js';
import type { World } from './world.js';

export interface ImdsOptions {
  instanceId: string;
  /** Propagation lag: IMDS answers from the world as it was this many ms ago (Infinity = frozen at start). */
  lagMs?: number;
  /** Reject token-less GETs with 401 (HttpTokens=required). Default true. */
  requireV2?: boolean;
}

const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
const TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';

export class ImdsServer {
  /** The HTTP server (also bridged to unix sockets for nodes in network namespaces, see netproxy). */
  readonly server: Server;
  private readonly tokens = new Map<string, number>(); // token → expiry (world clock ms)
  readonly instanceId: string;
  lagMs: number;
  requireV2: boolean;
  /** Requests served, by path (for tests). */
  readonly hits = new Map<string, number>();
  url = '';

  constructor(
    readonly world: World,
    opts: ImdsOptions,
  ) {
    this.instanceId = opts.instanceId;
    this.lagMs = opts.lagMs ?? 0;
    this.requireV2 = opts.requireV2 ?? true;
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(port = 0): Promise<string> {
    this.url = await listen(this.server, port);
    return this.url;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    // Collapse `//`: the SDK metadata client joins the endpoint's `/` with `/latest/...`, and real IMDS accepts it.
    // (`new URL` would read `//latest/...` as a host name, so the raw path is used.)
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/{2,}/g, '/');
    this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(body);
    };
    if (path === '/latest/api/token') {
      if (req.method !== 'PUT') return send(405, '');
      const ttl = Number(req.headers[TTL_HEADER]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(400, '');
      const token = randomBytes(32).toString('base64');
      this.tokens.set(token, this.world.now() + ttl * 1000);
      return send(200, token, { [TTL_HEADER]: String(ttl) });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, '');
    const token = req.headers[TOKEN_HEADER];
    if (typeof token === 'string') {
      const exp = this.tokens.get(token);
      if (exp === undefined || exp < this.world.now()) return send(401, '');
    } else if (this.requireV2) return send(401, '');
    const view = this.world.imdsView(this.instanceId, this.lagMs);
    const body = view ? imdsPaths(view, path) : undefined;
    if (body === undefined)
      return send(404, '<?xml version="1.0" encoding="iso-8859-1"?>\n<title>404 - Not Found</title>');
    send(200, body, body.startsWith('{') ? { 'content-type': 'application/json' } : {});
  }
}
