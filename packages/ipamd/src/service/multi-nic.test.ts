// AddNetwork / DelNetwork for multi-NIC pods over real datastores and real checkpoint files, one per card.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { AddNetworkRequest, DelNetworkRequest, GrpcStatus } from '@vpc-cni/shared/rpc';
import { multiNicRefusal } from '../cards/index.js';
import { Checkpoint, durableAddresses } from '../persistence/index.js';
import { Datastore } from '../store/index.js';
import { IpamService } from './ipam-service.js';
import { MemorySupply } from './memory-supply.js';
import { type ManagedCard, cardCheckpointPath } from './multi-nic.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface CardSpec {
  ips: string[];
  reserve?: string[];
}

/** Card c has one ENI (device 0; primary on card 0) with `ips`, and may grow by `reserve`. */
function setup(specs: CardSpec[], o: { multiNic?: boolean; blockCard?: number; addWaitMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vct-mnic-'));
  dirs.push(dir);
  const base = join(dir, 'ipam.json');
  if (o.blockCard !== undefined) writeFileSync(join(dir, 'blocker'), '');
  const cards: ManagedCard[] = specs.map((spec, card) => {
    const ds = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 30_000 });
    const eni = `eni-card${card}`;
    ds.addEni({
      id: eni,
      deviceNumber: 0,
      isPrimary: card === 0,
      routeTableId: card === 0 ? 254 : 10000 + 100 * card,
    });
    for (const ip of spec.ips) ds.addCidr(eni, `${ip}/32`, false);
    const path =
      card === o.blockCard ? join(dir, 'blocker', 'ipam-nic.json') : cardCheckpointPath(base, card);
    return {
      card,
      ds,
      checkpoint: new Checkpoint(path, () => ds.allocations(), silentLogger),
      supply: new MemorySupply(ds, { reserve: new Map([[eni, [...(spec.reserve ?? [])]]]), batch: 1 }),
    };
  });
  const [c0, ...others] = cards;
  const svc = new IpamService(c0!.ds, c0!.checkpoint, c0!.supply, {
    version: 'v-test',
    addWaitMs: o.addWaitMs ?? 2_000,
    networkPolicyMode: '',
    vpcCidrs: () => ({ v4: ['10.0.0.0/8'], v6: [] }),
    externalSnat: false,
    logger: silentLogger,
    ...(o.multiNic === false
      ? {}
      : {
          multiNic: {
            refusal: () =>
              multiNicRefusal({
                enabled: true,
                instanceType: 'p4d.24xlarge',
                typeCards: 4,
                managedCards: cards.map((c) => c.card),
              }),
            cards: () => others,
          },
        }),
  });
  // as ipamd's start reads it: the file with its journal replayed
  const onDisk = (card: number) => durableAddresses(cardCheckpointPath(base, card));
  const assigned = () => cards.map((c) => c.ds.stats().assignedIPs);
  return { svc, cards, onDisk, assigned };
}

const add = (c: string, multi = true) =>
  AddNetworkRequest.fromPartial({
    ContainerID: c,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    K8S_POD_NAME: c,
    K8S_POD_NAMESPACE: 'default',
    ClientVersion: 'v-test',
    RequiresMultiNICAttachment: multi,
  });
const del = (c: string) =>
  DelNetworkRequest.fromPartial({
    ContainerID: c,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    Reason: 'PodDeleted',
  });

describe('multi-NIC pods', () => {
  it('cardCheckpointPath: card 0 the configured path, card n ipam-nic-<n>.json', () => {
    expect(cardCheckpointPath('/var/run/aws-node/ipam.json', 0)).toBe('/var/run/aws-node/ipam.json');
    expect(cardCheckpointPath('/var/run/aws-node/ipam.json', 1)).toBe('/var/run/aws-node/ipam-nic-1.json');
    expect(cardCheckpointPath('/x/store', 3)).toBe('/x/store-nic-3.json');
  });

  it('ENABLE_MULTI_NIC=false: refused with the cause and remedy, nothing assigned', async () => {
    const { svc, assigned } = setup([{ ips: ['10.0.0.10'] }], { multiNic: false });
    await expect(svc.addNetwork(add('c1'))).rejects.toMatchObject({
      code: GrpcStatus.FAILED_PRECONDITION,
      details: expect.stringContaining('ENABLE_MULTI_NIC is false on this node: set ENABLE_MULTI_NIC=true'),
    });
    expect(assigned()).toEqual([0]);
    // an ordinary pod is served as always
    expect((await svc.addNetwork(add('c2', false))).IPAllocationMetadata).toHaveLength(1);
  });

  it('a node where only card 0 is managed refuses, naming the instance type', async () => {
    const { svc } = setup([{ ips: ['10.0.0.10'] }]);
    await expect(svc.addNetwork(add('c1'))).rejects.toMatchObject({
      code: GrpcStatus.FAILED_PRECONDITION,
      details: expect.stringContaining('only network card 0 of p4d.24xlarge is managed'),
    });
  });

  it('one address per card, each durable in its own checkpoint; ordinary pods stay on card 0; DEL releases all', async () => {
    const { svc, onDisk, assigned } = setup([
      { ips: ['10.0.0.10', '10.0.0.11'] },
      { ips: ['10.1.0.10'] },
      { ips: ['10.2.0.10'] },
    ]);
    const r = await svc.addNetwork(add('multi'));
    expect(r.Success).toBe(true);
    expect(r.IPAllocationMetadata.map((m) => [m.IPv4Addr, m.DeviceNumber, m.RouteTableId])).toEqual([
      ['10.0.0.10', 0, 254],
      ['10.1.0.10', 0, 10100],
      ['10.2.0.10', 0, 10200],
    ]);
    expect(await Promise.all([onDisk(0), onDisk(1), onDisk(2)])).toEqual([
      ['10.0.0.10'],
      ['10.1.0.10'],
      ['10.2.0.10'],
    ]);
    expect((await svc.addNetwork(add('multi'))).IPAllocationMetadata).toEqual(r.IPAllocationMetadata);
    const o = await svc.addNetwork(add('ordinary', false));
    expect(o.IPAllocationMetadata.map((m) => m.IPv4Addr)).toEqual(['10.0.0.11']);
    expect(assigned()).toEqual([2, 1, 1]);

    const d = await svc.delNetwork(del('multi'));
    expect(d.IPAllocationMetadata.map((m) => [m.IPv4Addr, m.RouteTableId])).toEqual([
      ['10.0.0.10', 254],
      ['10.1.0.10', 10100],
      ['10.2.0.10', 10200],
    ]);
    expect(await Promise.all([onDisk(0), onDisk(1), onDisk(2)])).toEqual([['10.0.0.11'], [], []]);
    await expect(svc.delNetwork(del('multi'))).rejects.toMatchObject({ code: GrpcStatus.UNKNOWN });
    expect(assigned()).toEqual([1, 0, 0]);
  });

  it('a card without a free address grows its own pool and the ADD waits for it', async () => {
    const { svc, cards } = setup([{ ips: ['10.0.0.10'] }, { ips: [] }, { ips: [], reserve: ['10.2.0.77'] }], {
      addWaitMs: 5_000,
    });
    cards[1]!.ds.addCidr('eni-card1', '10.1.0.5/32', false);
    const r = await svc.addNetwork(add('c1'));
    expect(r.IPAllocationMetadata.map((m) => m.IPv4Addr)).toEqual(['10.0.0.10', '10.1.0.5', '10.2.0.77']);
    expect((cards[2]!.supply as MemorySupply).calls).toBe(1);
    expect((cards[0]!.supply as MemorySupply).calls).toBe(0);
  });

  for (const failing of [0, 1, 2])
    it(`card ${failing} cannot grow: the pod is refused and no card keeps an address (memory and disk)`, async () => {
      const specs = [{ ips: ['10.0.0.10'] }, { ips: ['10.1.0.10'] }, { ips: ['10.2.0.10'] }];
      specs[failing] = { ips: [] };
      const { svc, assigned, onDisk } = setup(specs, { addWaitMs: 300 });
      await expect(svc.addNetwork(add('c1'))).rejects.toMatchObject({
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        details: expect.stringMatching(new RegExp(`^network card ${failing}: no free address`)),
      });
      expect(assigned()).toEqual([0, 0, 0]);
      expect(await Promise.all([onDisk(0), onDisk(1), onDisk(2)])).toEqual([[], [], []]);
      await expect(svc.delNetwork(del('c1'))).rejects.toMatchObject({ code: GrpcStatus.UNKNOWN });
    });

  it("a card's checkpoint cannot be written: every card gives its address back", async () => {
    const { svc, assigned, onDisk } = setup(
      [{ ips: ['10.0.0.10'] }, { ips: ['10.1.0.10'] }, { ips: ['10.2.0.10'] }],
      { blockCard: 2 },
    );
    await expect(svc.addNetwork(add('c1'))).rejects.toMatchObject({ code: GrpcStatus.UNAVAILABLE });
    expect(assigned()).toEqual([0, 0, 0]);
    expect(await Promise.all([onDisk(0), onDisk(1)])).toEqual([[], []]);
  });

  it('GC releases a stale multi-NIC pod on every card', async () => {
    const { svc, assigned } = setup([{ ips: ['10.0.0.10'] }, { ips: ['10.1.0.10'] }]);
    await svc.addNetwork(add('c1'));
    const r = await svc.gc({ NetworkName: 'aws-cni', ValidAttachments: [], MinAgeSeconds: 0 });
    expect(r.Released.map((x) => x.IPv4Addr)).toEqual(['10.0.0.10']);
    expect(assigned()).toEqual([0, 0]);
  });
});
