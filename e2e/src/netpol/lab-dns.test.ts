// The lab's DNS responder and the probers' client half (lab-dns.ts), on loopback: Node.js's own resolver
// (c-ares) decodes the responder's answers, and the client reads them over UDP and TCP and rejects an answer
// that is not for its query.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DNS_CLIENT, DNS_SERVER } from './lab-dns.js';

type Lookup = (tcp: boolean, h: string, p: number, name: string, to: number) => Promise<string | undefined>;
// The client is prober source text: evaluated here with the prober's free variables (`la`: no source address).
const lookup = new Function('net', 'dg', 'la', `${DNS_CLIENT}; return lookup;`)(
  net,
  dgram,
  undefined,
) as Lookup;

/** A port free for TCP (and, in practice, UDP) on loopback. */
const freePort = () =>
  new Promise<number>((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => r(port));
    });
  });

describe('lab DNS responder and client', () => {
  let server: ChildProcess | undefined;
  let port = 0;
  beforeAll(async () => {
    port = await freePort();
    server = spawn(
      process.execPath,
      ['-e', DNS_SERVER, 'svc-b.x=10.96.0.12,kube-dns.kube-system=10.96.0.10', String(port), '127.0.0.1'],
      { stdio: 'ignore' },
    );
    // Ready once it answers over TCP (listening on both by then: UDP binds first).
    for (let i = 0; i < 100; i++) {
      if ((await lookup(true, '127.0.0.1', port, 'svc-b.x', 200)) !== undefined) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the DNS responder did not come up');
  });
  afterAll(() => {
    server?.kill('SIGKILL');
  });

  it('answers Service names, short and fully qualified, as a real resolver reads them', async () => {
    const r = new Resolver({ timeout: 1_000, tries: 1 });
    r.setServers([`127.0.0.1:${port}`]);
    expect(await r.resolve4('svc-b.x')).toEqual(['10.96.0.12']);
    expect(await r.resolve4('svc-b.x.svc.cluster.local')).toEqual(['10.96.0.12']);
    expect(await r.resolve4('KUBE-DNS.kube-system.svc.cluster.local')).toEqual(['10.96.0.10']);
    await expect(r.resolve4('svc-c.x.svc.cluster.local')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(await r.resolve6('svc-b.x').catch((e: { code: string }) => e.code)).toBe('ENODATA');
  });

  it('the client gets the address over UDP and TCP, nothing for unknown names', async () => {
    expect(await lookup(false, '127.0.0.1', port, 'svc-b.x', 1_000)).toBe('10.96.0.12');
    expect(await lookup(true, '127.0.0.1', port, 'kube-dns.kube-system.svc.cluster.local', 1_000)).toBe(
      '10.96.0.10',
    );
    expect(await lookup(false, '127.0.0.1', port, 'svc-c.x', 1_000)).toBeUndefined();
    expect(await lookup(true, '127.0.0.1', port, 'svc-c.x', 1_000)).toBeUndefined();
  });

  it('the client takes no echo or foreign answer for one (a UDP echo server on 53 is no DNS)', async () => {
    const echo = dgram.createSocket('udp4');
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
    try {
      expect(await lookup(false, '127.0.0.1', echo.address().port, 'svc-b.x', 300)).toBeUndefined();
    } finally {
      echo.close();
    }
  });
});
