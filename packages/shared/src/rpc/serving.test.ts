// isServing: one health Check over a real unix socket, against our own server.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcServer, ServingStatus } from '../rpc-server/index.js';
import { IPAMD_HEALTH_SERVICE, isServing } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'vct-serving-'));
const server = new RpcServer({ unixSocket: join(dir, 'ipamd.sock') });
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('isServing', () => {
  it('is true only while the service answers SERVING; false when nothing listens or the service is unknown', async () => {
    const endpoint = `unix://${join(dir, 'ipamd.sock')}`;
    expect(await isServing(endpoint, 500)).toBe(false); // nothing listening yet
    await server.start();
    expect(await isServing(endpoint, 500)).toBe(false); // NOT_FOUND: never set
    server.health.set(IPAMD_HEALTH_SERVICE, ServingStatus.NOT_SERVING);
    expect(await isServing(endpoint, 500)).toBe(false);
    server.health.set(IPAMD_HEALTH_SERVICE, ServingStatus.SERVING);
    expect(await isServing(endpoint, 500)).toBe(true);
    expect(await isServing(endpoint, 500, 'grpc.health.v1.other')).toBe(false);
  });
});
