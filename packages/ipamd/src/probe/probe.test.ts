import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcServer, ServingStatus } from '@vpc-cni/shared/rpc-server';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDuration, parseProbeArgs, ProbeExit } from './args.js';
import { main, probe } from './main.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function server(): Promise<{ socket: string; srv: RpcServer }> {
  const dir = mkdtempSync(join(tmpdir(), 'probe-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'ipamd.sock');
  const srv = new RpcServer({ unixSocket: socket });
  await srv.start();
  cleanup.push(() => srv.stop(100));
  return { socket, srv };
}

async function run(args: string[]) {
  const lines: string[] = [];
  const code = await probe(parseProbeArgs(args), (fd, line) => lines.push(`${fd}:${line}`));
  return { code, lines };
}

describe('grpc-health-probe program', () => {
  it('SERVING → exit 0; NOT_SERVING → exit 4; per-service status', async () => {
    const { socket, srv } = await server();
    srv.health.set('', ServingStatus.SERVING);
    srv.health.set('grpc.health.v1.aws-node', ServingStatus.NOT_SERVING);
    expect(await run([`-addr=unix://${socket}`, '-connect-timeout=5s', '-rpc-timeout=5s'])).toEqual({
      code: ProbeExit.OK,
      lines: ['1:status: SERVING'],
    });
    expect(await run([`-addr=unix://${socket}`, '-service', 'grpc.health.v1.aws-node'])).toEqual({
      code: ProbeExit.UNHEALTHY,
      lines: ['2:service unhealthy (responded with "NOT_SERVING")'],
    });
    const unknown = await run([`-addr=${socket}`, '-service=nope']);
    expect(unknown.code).toBe(ProbeExit.RPC_FAILURE);
    expect(unknown.lines[0]).toMatch(/NOT_FOUND.*unknown service "nope"/);
  });

  it('nothing listening → exit 2 naming the address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const r = await run([`-addr=unix://${dir}/ipamd.sock`]);
    expect(r.code).toBe(ProbeExit.CONNECTION_FAILURE);
    expect(r.lines[0]).toMatch(/failed to connect service at "unix:\/\/.*ipamd.sock"/);
  });

  it('bad flags → exit 1 with the cause', async () => {
    expect(await main(['-addr=:50051', '-rpc-timeout=5'])).toBe(ProbeExit.INVALID_ARGUMENTS);
    expect(await main(['-bogus=1'])).toBe(ProbeExit.INVALID_ARGUMENTS);
    expect(await main([])).toBe(ProbeExit.INVALID_ARGUMENTS);
    expect(() => parseProbeArgs(['-addr=x', '-rpc-timeout=5'])).toThrow(/invalid duration "5"/);
  });

  it('parses Go durations and the :port shorthand', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseProbeArgs(['-addr', ':50051']).addr).toBe('localhost:50051');
  });
});
