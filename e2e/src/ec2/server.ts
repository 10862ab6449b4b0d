// The EC2 Query API endpoint: form-encoded POSTs, XML answers the AWS SDK parses, EC2's error XML, per-action
// latency, token-bucket throttling (RequestLimitExceeded), injected failures, and a per-action call log.
import { type Server, createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { actions } from './actions.js';
import { Ec2Error } from './errors.js';
import { Params } from './query.js';
import type { World } from './world.js';
import { errorResponse, response } from './xml.js';

export interface Ec2SimOptions {
  /** Milliseconds per action (default 0: tests); e.g. { CreateNetworkInterface: 300 }. */
  latencyMs?: Record<string, number>;
  /** Token bucket per action: capacity and refill per second. */
  throttle?: Record<string, { capacity: number; perSecond: number }>;
  /** Probability (0..1) that an action fails with the given code. */
  faults?: Record<string, { rate: number; code: string }>;
}

export interface CallRecord {
  action: string;
  outcome: 'ok' | string;
  at: number;
}

export class Ec2Sim {
  readonly calls: CallRecord[] = [];
  private server: Server | undefined;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  url = '';

  constructor(
    readonly world: World,
    readonly options: Ec2SimOptions = {},
  ) {}

  count(action?: string, outcome?: string): number {
    return this.calls.filter((c) => (!action || c.action === action) && (!outcome || c.outcome === outcome))
      .length;
  }

  private throttled(action: string): boolean {
    const t = this.options.throttle?.[action];
    if (!t) return false;
    const now = performance.now();
    const b = this.buckets.get(action) ?? { tokens: t.capacity, at: now };
    b.tokens = Math.min(t.capacity, b.tokens + ((now - b.at) / 1000) * t.perSecond);
    b.at = now;
    this.buckets.set(action, b);
    if (b.tokens < 1) return true;
    b.tokens -= 1;
    return false;
  }

  private async handle(body: string): Promise<{ status: number; xml: string }> {
    const params = new Params(new URLSearchParams(body));
    const action = params.get('Action') ?? '';
    const requestId = randomUUID();
    const fail = (e: Ec2Error) => {
      this.calls.push({ action, outcome: e.code, at: Date.now() });
      return { status: e.status, xml: errorResponse(e.code, e.message, requestId) };
    };
    const delay = this.options.latencyMs?.[action] ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const handler = actions[action];
    if (!handler)
      return fail(new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`));
    if (this.throttled(action))
      return fail(new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503));
    const fault = this.options.faults?.[action];
    if (fault && Math.random() < fault.rate)
      return fail(
        new Ec2Error(fault.code, `injected ${fault.code}`, fault.code === 'RequestLimitExceeded' ? 503 : 400),
      );
    try {
      const xml = response(action, requestId, handler(this.world, params));
      this.calls.push({ action, outcome: 'ok', at: Date.now() });
      return { status: 200, xml };
    } catch (e) {
      if (e instanceof Ec2Error) return fail(e);
      return fail(new Ec2Error('InternalError', e instanceof Error ? e.message : String(e), 500));
    }
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(Buffer.concat(chunks).toString('utf8')).then(({ status, xml }) =>
          res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8' }).end(xml),
        );
      });
    });
    await new Promise<void>((r) => this.server?.listen(port, host, r));
    const a = this.server.address();
    this.url = `http://${host}:${typeof a === 'object' && a ? a.port : port}`;
    return this.url;
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
