// The EC2 Query endpoint (POST form bodies, as the SDK sends them) plus a JSON admin API under /_sim/ for tests
// and the demo: call log, fault config, world dump.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { actions } from './actions.js';
import { Ec2Error } from './errors.js';
import type { Faults, FaultConfig } from './faults.js';
import { close, listen, readBody } from './http-util.js';
import { Params } from './query.js';
import { worldJson } from './dump.js';
import type { World } from './world.js';
import { errorXml, responseXml } from './xml.js';

export class Ec2Server {
  /** The HTTP server (also bridged to unix sockets for nodes in network namespaces, see netproxy). */
  readonly server: Server;
  url = '';
  /** Extra admin routes (the Sim adds IMDS control); return undefined when the route is not handled. */
  extraAdmin?: (method: string, path: string, body: string) => unknown;

  constructor(
    readonly world: World,
    readonly faults: Faults,
  ) {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  }

  async start(port = 0): Promise<string> {
    this.url = await listen(this.server, port);
    return this.url;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.startsWith('/_sim/')) return this.admin(req.method ?? 'GET', path, body, res);
    const query = new URL(req.url ?? '/', 'http://x').search.slice(1);
    const p = new Params(body || query);
    const action = p.get('Action') ?? '';
    const requestId = randomUUID();
    const send = (status: number, xml: string): void => {
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
      res.end(xml);
    };
    const logParams = Object.fromEntries(p.map);
    const ua = req.headers['user-agent'];
    try {
      const handler = actions[action];
      if (!handler)
        throw new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`);
      this.faults.admit(action);
      const lat = this.faults.latency(action);
      if (lat > 0 && !(await this.waitOrGone(req, lat))) {
        // The caller gave up first (its HTTP timeout): the action never runs.
        this.faults.record(action, 'CallerGone', logParams, ua);
        return;
      }
      const out = await handler({ w: this.world, p, faults: this.faults });
      if (this.faults.dropReply(action)) {
        this.faults.record(action, 'DroppedReply', logParams, ua);
        req.socket.destroy();
        return;
      }
      this.faults.record(action, 'OK', logParams, ua);
      send(200, responseXml(action, requestId, out));
    } catch (e) {
      if (!(e instanceof Ec2Error)) throw e;
      this.faults.record(action, e.code, logParams, ua);
      send(e.status, errorXml(e.code, e.message, requestId));
    }
  }

  /** Waits `ms`; false when the caller closed the connection meanwhile. */
  private waitOrGone(req: IncomingMessage, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const onClose = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        req.socket.off('close', onClose);
        resolve(true);
      }, ms);
      req.socket.once('close', onClose);
    });
  }

  private admin(method: string, path: string, body: string, res: ServerResponse): void {
    const json = (v: unknown, status = 200): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    if (path === '/_sim/calls' && method === 'GET')
      return json({ counts: this.faults.counts(), calls: this.faults.calls });
    if (path === '/_sim/calls' && method === 'DELETE') {
      this.faults.resetCalls();
      return json({});
    }
    if (path === '/_sim/faults' && method === 'GET') return json(this.faults.config);
    if (path === '/_sim/faults' && method === 'POST') {
      this.faults.update(JSON.parse(body) as Partial<FaultConfig>);
      return json(this.faults.config);
    }
    if (path === '/_sim/world' && method === 'GET') return json(worldJson(this.world));
    const extra = this.extraAdmin?.(method, path, body);
    if (extra !== undefined) return json(extra);
    json({ error: `no admin route ${method} ${path}` }, 404);
  }
}
