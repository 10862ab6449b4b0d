// The IMDSv2 client against a local server that behaves like IMDS (and like its failure modes).
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ImdsClient } from './index.js';

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

async function imds(
  handler: (
    method: string,
    url: string,
    token: string | undefined,
  ) => { status: number; body?: string; ttl?: string },
) {
  const log: string[] = [];
  const s = createServer((req, res) => {
    const token = req.headers['x-aws-ec2-metadata-token'] as string | undefined;
    log.push(`${req.method} ${req.url} ${token ?? '-'}`);
    const r = handler(req.method ?? '', req.url ?? '', token);
    res.writeHead(r.status, r.ttl ? { 'x-aws-ec2-metadata-token-ttl-seconds': r.ttl } : {}).end(r.body ?? '');
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  return { endpoint: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, log };
}

describe('ImdsClient', () => {
  it('gets a token once, sends it on every GET, trims answers; 404 is undefined', async () => {
    const { endpoint, log } = await imds((m, url, token) => {
      if (m === 'PUT') return { status: 200, body: 'T1', ttl: '300' };
      if (token !== 'T1') return { status: 401 };
      return url === '/latest/meta-data/mac' ? { status: 200, body: '0a:1b:2c:3d:4e:5f\n' } : { status: 404 };
    });
    const c = new ImdsClient({ endpoint });
    expect(await c.get('meta-data/mac')).toBe('0a:1b:2c:3d:4e:5f');
    expect(await c.get('meta-data/ipv6')).toBeUndefined();
    expect(log.filter((l) => l.startsWith('PUT'))).toHaveLength(1);
    await expect(c.require('meta-data/ipv6')).rejects.toThrow(/IMDS meta-data\/ipv6: not found/);
  });

  it('a 401 discards the token and the retry fetches a new one', async () => {
    let n = 0;
    const { endpoint } = await imds((m, _url, token) => {
      if (m === 'PUT') return { status: 200, body: `T${++n}`, ttl: '300' };
      return token === 'T2' ? { status: 200, body: 'i-123' } : { status: 401 };
    });
    expect(await new ImdsClient({ endpoint }).get('meta-data/instance-id')).toBe('i-123');
  });

  it('falls back to IMDSv1 when the token PUT is refused with 403/404/405', async () => {
    const { endpoint, log } = await imds((m) =>
      m === 'PUT' ? { status: 405 } : { status: 200, body: 'm5.large' },
    );
    const c = new ImdsClient({ endpoint });
    expect(await c.get('meta-data/instance-type')).toBe('m5.large');
    expect(await c.get('meta-data/instance-type')).toBe('m5.large');
    expect(log.filter((l) => l.startsWith('PUT'))).toHaveLength(1);
    expect(log.filter((l) => l.startsWith('GET')).every((l) => l.endsWith(' -'))).toBe(true);
  });

  it('a token PUT that times out (a loaded node) is not taken for IMDSv1 once IMDS answers 401', async () => {
    let puts = 0;
    const s = createServer((req, res) => {
      if (req.method === 'PUT') {
        puts += 1;
        // The first token request is answered too late for the client's timeout.
        setTimeout(
          () => res.writeHead(200, { 'x-aws-ec2-metadata-token-ttl-seconds': '300' }).end('T'),
          puts === 1 ? 400 : 0,
        );
        return;
      }
      if (req.headers['x-aws-ec2-metadata-token'] !== 'T') return void res.writeHead(401).end();
      res.writeHead(200).end('i-123');
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const a = s.address();
    const endpoint = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    expect(await new ImdsClient({ endpoint, timeoutMs: 100 }).get('meta-data/instance-id')).toBe('i-123');
    expect(puts).toBe(2);
  });

  it('gives up after its attempts with the path in the message', async () => {
    const { endpoint } = await imds((m) =>
      m === 'PUT' ? { status: 200, body: 'T', ttl: '300' } : { status: 500 },
    );
    await expect(new ImdsClient({ endpoint, attempts: 2 }).get('meta-data/mac')).rejects.toThrow(
      /IMDS meta-data\/mac: HTTP 500/,
    );
  });
});
