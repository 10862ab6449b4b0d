import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '@vpc-cni/shared/logging';
import { AddNetworkRequest, DelNetworkRequest, GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import { Checkpoint, decodeCheckpoint } from '../persistence/index.js';
import { Datastore } from '../store/index.js';
import { IpamService } from './ipam-service.js';
import { MemorySupply } from './memory-supply.js';
import { type AddressSupply, CapacityError } from './supply.js';
import { readFileSync } from 'node:fs';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup(
  o: {
    ips?: string[];
    reserve?: string[];
    supply?: AddressSupply;
    addWaitMs?: number;
    path?: string;
    logger?: Logger;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'vct-svc-'));
  dirs.push(dir);
  const ds = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 30_000 });
  ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254, isPrimary: true });
  for (const ip of o.ips ?? []) ds.addCidr('eni-a', `${ip}/32`, false);
  const path = o.path ?? join(dir, 'ipam.json');
  const ckpt = new Checkpoint(path, () => ds.allocations(), silentLogger);
  const supply =
    o.supply ?? new MemorySupply(ds, { reserve: new Map([['eni-a', [...(o.reserve ?? [])]]]), batch: 4 });
  const svc = new IpamService(ds, ckpt, supply, {
    version: 'v-test',
    addWaitMs: o.addWaitMs ?? 2_000,
    networkPolicyMode: '',
    vpcCidrs: () => ({ v4: ['10.0.0.0/16'], v6: [] }),
    externalSnat: false,
    logger: o.logger ?? silentLogger,
  });
  return { ds, ckpt, svc, supply, path };
}

const add = (c: string, name = c) =>
  AddNetworkRequest.fromPartial({
    ContainerID: c,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    K8S_POD_NAME: name,
    K8S_POD_NAMESPACE: 'default',
    ClientVersion: 'v-test',
  });
const del = (c: string) =>
  DelNetworkRequest.fromPartial({
    ContainerID: c,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    Reason: 'PodDeleted',
  });

describe('IpamService', () => {
  it('64 concurrent AddNetwork get 64 distinct addresses, all durable before the replies', async () => {
    const ips = Array.from({ length: 64 }, (_, i) => `10.0.${1 + (i >> 6)}.${10 + (i & 63)}`);
    const { svc, ckpt, path } = setup({ ips });
    const replies = await Promise.all(ips.map((_, i) => svc.addNetwork(add(`c${i}`))));
    const addrs = replies.map((r) => r.IPAllocationMetadata[0]?.IPv4Addr);
    expect(new Set(addrs).size).toBe(64);
    expect(replies[0]).toMatchObject({ Success: true, VPCv4CIDRs: ['10.0.0.0/16'], UseExternalSNAT: false });
    const onDisk = decodeCheckpoint(readFileSync(path, 'utf8'));
    expect(onDisk.map((e) => e.allocation.address).sort()).toEqual([...addrs].sort());
    expect(ckpt.writes).toBeLessThan(64); // group commit
  });

  it('a repeated AddNetwork for the same container returns the same address', async () => {
    const { svc } = setup({ ips: ['10.0.1.5', '10.0.1.6'] });
    const a = await svc.addNetwork(add('c1'));
    const b = await svc.addNetwork(add('c1'));
    expect(b.IPAllocationMetadata).toEqual(a.IPAllocationMetadata);
  });

  it('DelNetwork releases and returns the address; an unknown key is UNKNOWN "datastore: unknown pod"', async () => {
    const { svc } = setup({ ips: ['10.0.1.5'] });
    await svc.addNetwork(add('c1'));
    const r = await svc.delNetwork(del('c1'));
    expect(r).toMatchObject({
      Success: true,
      IPAllocationMetadata: [{ IPv4Addr: '10.0.1.5', DeviceNumber: 0, RouteTableId: 254 }],
    });
    const e = await svc.delNetwork(del('c1')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ code: GrpcStatus.UNKNOWN, details: 'datastore: unknown pod' });
  });

  it('with no free address, AddNetwork waits for the supply to grow; shortfalls arriving together share one call', async () => {
    const { svc, supply } = setup({ ips: [], reserve: ['10.0.2.1', '10.0.2.2', '10.0.2.3', '10.0.2.4'] });
    const replies = await Promise.all(['a', 'b', 'c'].map((c) => svc.addNetwork(add(c))));
    expect(replies.map((r) => r.IPAllocationMetadata[0]?.IPv4Addr).sort()).toEqual([
      '10.0.2.1',
      '10.0.2.2',
      '10.0.2.3',
    ]);
    expect((supply as MemorySupply).calls).toBe(1);
  });

  it('when the pool cannot grow, AddNetwork fails with RESOURCE_EXHAUSTED and the reason', async () => {
    const supply: AddressSupply = {
      grow: () => Promise.reject(new CapacityError('max-pods', 'max pods reached (29 on m5.large)')),
    };
    const { svc, ds } = setup({ ips: [], supply });
    await expect(svc.addNetwork(add('c1'))).rejects.toMatchObject({
      code: GrpcStatus.RESOURCE_EXHAUSTED,
      details: 'no free address: max pods reached (29 on m5.large)',
    });
    expect(ds.allocations()).toEqual([]);
  });

  it('when the pool cannot grow but an address is cooling down, AddNetwork waits for it (within the bound)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vct-svc-'));
    dirs.push(dir);
    const ds = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 300 });
    ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254, isPrimary: true });
    ds.addCidr('eni-a', '10.0.0.9/32', false);
    const full: AddressSupply = {
      grow: () => Promise.reject(new CapacityError('no-eni-slots', 'no ENI slots left')),
    };
    const mk = (addWaitMs: number) =>
      new IpamService(
        ds,
        new Checkpoint(join(dir, 'ipam.json'), () => ds.allocations(), silentLogger),
        full,
        {
          version: 'v-test',
          addWaitMs,
          networkPolicyMode: '',
          vpcCidrs: () => ({ v4: [], v6: [] }),
          externalSnat: false,
          logger: silentLogger,
        },
      );
    const svc = mk(5_000);
    await svc.addNetwork(add('c1'));
    await svc.delNetwork(del('c1'));
    expect(ds.msUntilCooled()).toBeGreaterThan(0); // the only address is cooling and the pool cannot grow...
    const r = await svc.addNetwork(add('c2')); // ...so this succeeds only by waiting for it
    expect(r.IPAllocationMetadata[0]?.IPv4Addr).toBe('10.0.0.9');
    // A cooldown longer than the bound: the reason, at once.
    await svc.delNetwork(del('c2'));
    await expect(mk(50).addNetwork(add('c3'))).rejects.toMatchObject({ code: GrpcStatus.RESOURCE_EXHAUSTED });
  });

  it('gives up after the wait bound when growth never arrives', async () => {
    const { svc } = setup({ ips: [], supply: { grow: () => new Promise(() => {}) }, addWaitMs: 50 });
    await expect(svc.addNetwork(add('c1'))).rejects.toMatchObject({
      code: GrpcStatus.RESOURCE_EXHAUSTED,
      details: expect.stringMatching(/did not grow within 50 ms/),
    });
  });

  it('a failed checkpoint write undoes the assignment and the release', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vct-svc-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'blocker'), '');
    const { svc, ds } = setup({ ips: ['10.0.1.5'], path: join(dir, 'blocker', 'ipam.json') });
    await expect(svc.addNetwork(add('c1'))).rejects.toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    expect(ds.allocations()).toEqual([]);
    expect(ds.stats().assignedIPs).toBe(0);
  });

  it('GC releases allocations of the network that are not valid attachments', async () => {
    const { svc, ds } = setup({ ips: ['10.0.1.5', '10.0.1.6', '10.0.1.7'] });
    for (const c of ['keep', 'gone1', 'gone2']) await svc.addNetwork(add(c));
    const r = await svc.gc({
      NetworkName: 'aws-cni',
      ValidAttachments: [{ ContainerID: 'keep', IfName: 'eth0' }],
      MinAgeSeconds: 0,
    });
    expect(r.Released.map((x) => x.ContainerID).sort()).toEqual(['gone1', 'gone2']);
    expect(ds.allocations().map((a) => a.allocation.key.containerID)).toEqual(['keep']);
    const other = await svc.gc({ NetworkName: 'other-net', ValidAttachments: [], MinAgeSeconds: 0 });
    expect(other.Released).toEqual([]);
  });

  it("a peer's megabyte-long strings are served but logged cut short (issue 22 audit)", async () => {
    const lines: string[] = [];
    const record = (a: unknown, b?: string) => void lines.push(JSON.stringify([a, b]));
    const logger: Logger = {
      debug: record,
      info: record,
      warn: record,
      error: record,
      child: () => logger,
    } as unknown as Logger;
    const { svc } = setup({ ips: ['10.0.1.10'], logger });
    const long = 'c'.repeat(1_000_000);
    const r = await svc.addNetwork({ ...add(long), ClientVersion: 'v'.repeat(1_000_000) });
    expect(r.IPAllocationMetadata[0]?.IPv4Addr).toBe('10.0.1.10');
    await svc.delNetwork({ ...del(long), Reason: 'r'.repeat(1_000_000) });
    await svc.gc({ NetworkName: 'n'.repeat(1_000_000), ValidAttachments: [], MinAgeSeconds: 0 });
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const l of lines) expect(l.length).toBeLessThan(2_000);
  });
});
