// ENABLE_MULTI_NIC against the simulated EC2 (agent in-process, no host networking): every managed network card
// gets its own pool with ENIs attached on that card, a multi-NIC pod one address per card, each card's allocations
// in its own checkpoint; an efa-only card alone is not managed; with the variable off only card 0 is used.
import { rmSync } from 'node:fs';
import { durableAddresses } from '@vpc-cni/ipamd/persistence';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { type Agent, startAgent } from '@vpc-cni/ipamd/agent';
import { createEni } from './ops-eni.js';
import { attachEni } from './ops-attach.js';
import type { Sim } from './sim.js';
import { SG_1, SUBNET_A, startSmall } from './testkit.js';
import {
  type IpamdWorld,
  addRequest,
  delRequest,
  ipamdWorld,
  useSimulatorCredentials,
} from './ipamd-testkit.js';

useSimulatorCredentials();

// hpc7a.12xlarge: 2 network cards × 2 ENIs, 50 IPv4 per ENI.
const TYPE = 'hpc7a.12xlarge';

let sim: Sim | undefined;
let agent: Agent | undefined;
let client: RpcClient | undefined;
const dirs: string[] = [];
afterEach(async () => {
  client?.close();
  client = undefined;
  await agent?.stop();
  agent = undefined;
  await sim?.stop();
  sim = undefined;
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function world(): Promise<IpamdWorld> {
  sim = await startSmall();
  return ipamdWorld(sim, { type: TYPE, dirs, prefix: 'mnic', defaults: { WARM_IP_TARGET: '2' } });
}

// as ipamd's start reads it: the file with its journal replayed
const onDisk = durableAddresses;

describe('ENABLE_MULTI_NIC against the simulated EC2', () => {
  it('card 1 gets its own ENI (NetworkCardIndex 1); a multi-NIC pod one address per card; DEL releases both; a restart keeps both', async () => {
    const w = await world();
    const env = w.env({
      ENABLE_MULTI_NIC: 'true',
      DISABLE_INTROSPECTION: 'false',
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
      DISABLE_METRICS: 'false',
      VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
    });
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    const onCard = (card: number) =>
      w.sim.world.enisOf(w.node.instance.id).filter((e) => e.attachment!.networkCardIndex === card);
    // Pre-scaling of card 1 (warm 1 / minimum 1) attached one ENI at device 0 of card 1 with one address.
    expect(onCard(1)).toHaveLength(1);
    const card1Eni = onCard(1)[0]!;
    expect(card1Eni.attachment!.deviceIndex).toBe(0);
    expect(card1Eni.secondaryIps).toHaveLength(1);
    expect(agent.cards.map((c) => c.card)).toEqual([1]);
    expect(agent.cards[0]!.ds.eniList().map((e) => [e.id, e.deviceNumber, e.routeTableId])).toEqual([
      [card1Eni.id, 0, 10100],
    ]);

    client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}` });
    const multi = await client.call(CNIBackend.AddNetwork, addRequest('m1', true));
    expect(multi.Success).toBe(true);
    expect(multi.IPAllocationMetadata.map((m) => m.RouteTableId)).toEqual([254, 10100]);
    const [a0, a1] = multi.IPAllocationMetadata.map((m) => m.IPv4Addr);
    expect(w.sim.world.eni(w.node.instance.primaryEniId).secondaryIps).toContain(a0);
    expect(card1Eni.secondaryIps).toContain(a1);
    expect(await onDisk(join(w.dir, 'ipam.json'))).toEqual([a0]);
    expect(await onDisk(join(w.dir, 'ipam-nic-1.json'))).toEqual([a1]);

    // introspection: one /v1/enis entry per managed card (upstream's shape); pool gauges are node totals
    const enis = (await (
      await fetch(`http://127.0.0.1:${agent.introspectionPort}/v1/enis`)
    ).json()) as Record<
      string,
      { TotalIPs: number; AssignedIPs: number; ENIs: Record<string, { RouteTableID: number }> }
    >;
    expect(Object.keys(enis).sort()).toEqual(['0', '1']);
    expect(enis['1']!.AssignedIPs).toBe(1);
    expect(enis['1']!.ENIs[card1Eni.id]!.RouteTableID).toBe(10100);
    const metrics = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^awscni_assigned_ip_addresses 2$/m);
    expect(metrics).toMatch(new RegExp(`^awscni_assigned_ip_per_eni\\{eni="${card1Eni.id}"\\} 1$`, 'm'));
    // capacity: 2 ENIs × 49 addresses on each card; the awscni_* gauges are the node's sums (upstream's
    // unlabelled shape), the vpccni_network_card_* gauges break them down
    expect(metrics).toMatch(/^awscni_eni_max 4$/m);
    expect(metrics).toMatch(/^awscni_ip_max 196$/m);
    for (const card of ['0', '1']) {
      expect(metrics).toMatch(new RegExp(`^vpccni_network_card_eni_max\\{network_card="${card}"\\} 2$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^vpccni_network_card_ip_max\\{network_card="${card}"\\} 98$`, 'm'));
    }
    expect(metrics).toMatch(/^vpccni_network_card_assigned_ip_addresses\{network_card="1"\} 1$/m);
    expect(metrics).toMatch(/^vpccni_network_card_eni_allocated\{network_card="1"\} 1$/m);
    expect(metrics).toMatch(/^vpccni_network_card_assigned_ip_addresses\{network_card="0"\} 1$/m);
    const cards = (await (
      await fetch(`http://127.0.0.1:${agent.introspectionPort}/v1/network-cards`)
    ).json()) as {
      NetworkCard: number;
      Managed: boolean;
      ENIs: string[];
      AssignedIPs: number;
      Checkpoint: string;
    }[];
    expect(cards.map((c) => [c.NetworkCard, c.Managed, c.ENIs, c.AssignedIPs, c.Checkpoint])).toEqual([
      [0, true, [w.node.instance.primaryEniId], 1, join(w.dir, 'ipam.json')],
      [1, true, [card1Eni.id], 1, join(w.dir, 'ipam-nic-1.json')],
    ]);

    // an ordinary pod stays on card 0
    const plain = await client.call(CNIBackend.AddNetwork, addRequest('o1', false));
    expect(plain.IPAllocationMetadata.map((m) => m.RouteTableId)).toEqual([254]);
    expect(agent.cards[0]!.ds.stats().assignedIPs).toBe(1);

    // a second multi-NIC pod: card 1 has no free address (warm 1 was used), it grows and the ADD waits
    const second = await client.call(CNIBackend.AddNetwork, addRequest('m2', true));
    expect(second.IPAllocationMetadata).toHaveLength(2);
    expect(agent.cards[0]!.ds.stats().assignedIPs).toBe(2);

    // restart: both cards' allocations come back from their checkpoints
    client.close();
    client = undefined;
    await agent.stop();
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    expect(agent.ds.stats().assignedIPs).toBe(3);
    expect(agent.cards[0]!.ds.stats().assignedIPs).toBe(2);
    client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}` });
    const again = await client.call(CNIBackend.AddNetwork, addRequest('m1', true));
    expect(again.IPAllocationMetadata.map((m) => m.IPv4Addr)).toEqual([a0, a1]);

    const del = await client.call(CNIBackend.DelNetwork, delRequest('m1'));
    expect(del.IPAllocationMetadata.map((m) => [m.IPv4Addr, m.RouteTableId])).toEqual([
      [a0, 254],
      [a1, 10100],
    ]);
    expect(await onDisk(join(w.dir, 'ipam-nic-1.json'))).not.toContain(a1);
    expect(agent.cards[0]!.ds.stats().assignedIPs).toBe(1);
  });

  it('ENABLE_MULTI_NIC=false on a two-card type: card 1 untouched, a multi-NIC pod is refused with the remedy', async () => {
    const w = await world();
    const env = w.env({});
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    expect(
      w.sim.world.enisOf(w.node.instance.id).filter((e) => e.attachment!.networkCardIndex === 1),
    ).toEqual([]);
    expect(agent.cards).toEqual([]);
    client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}` });
    await expect(client.call(CNIBackend.AddNetwork, addRequest('m1', true))).rejects.toThrow(
      /FAILED_PRECONDITION.*ENABLE_MULTI_NIC is false on this node: set ENABLE_MULTI_NIC=true/,
    );
    expect(agent.ds.stats().assignedIPs).toBe(0);
  });

  it('a card holding only an efa-only interface is not managed; with an ENA interface beside it, it is', async () => {
    const w = await world();
    const efa = createEni(w.sim.world, { subnetId: SUBNET_A, groups: [SG_1], interfaceType: 'efa-only' });
    await attachEni(
      w.sim.world,
      { eniId: efa.id, instanceId: w.node.instance.id, deviceIndex: 0, networkCardIndex: 1 },
      0,
    );
    const env = w.env({
      ENABLE_MULTI_NIC: 'true',
      DISABLE_INTROSPECTION: 'false',
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
      DISABLE_METRICS: 'false',
      VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
    });
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    expect(agent.cards).toEqual([]);
    const status = async () =>
      (
        (await (await fetch(`http://127.0.0.1:${agent!.introspectionPort}/v1/network-cards`)).json()) as {
          NetworkCard: number;
          Managed: boolean;
          Reason: string;
          ENIMax?: number;
        }[]
      ).map((c) => [c.NetworkCard, c.Managed, c.Reason, c.ENIMax]);
    expect(await status()).toEqual([
      [0, true, 'network card 0 holds the primary ENI', 2],
      [1, false, `it holds the EFA-only interface ${efa.id} and no managed ENA interface`, undefined],
    ]);
    const scrape = async () => (await fetch(`http://127.0.0.1:${agent!.metricsPort}/metrics`)).text();
    expect(await scrape()).toMatch(/^awscni_eni_max 2$/m);
    expect(await scrape()).not.toMatch(/network_card="1"/);
    expect(
      w.sim.world
        .enisOf(w.node.instance.id)
        .filter((e) => e.attachment!.networkCardIndex === 1)
        .map((e) => e.id),
    ).toEqual([efa.id]);
    client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}` });
    await expect(client.call(CNIBackend.AddNetwork, addRequest('m1', true))).rejects.toThrow(
      /only network card 0 of hpc7a.12xlarge is managed/,
    );
    client.close();
    client = undefined;
    await agent.stop();

    // an ENA interface on the same card (attached by hand): the card is managed, the efa-only one left alone
    const ena = createEni(w.sim.world, { subnetId: SUBNET_A, groups: [SG_1], secondaryCount: 2 });
    await attachEni(
      w.sim.world,
      { eniId: ena.id, instanceId: w.node.instance.id, deviceIndex: 1, networkCardIndex: 1 },
      0,
    );
    agent = await startAgent(env, silentLogger, { hostNetworking: false });
    expect(agent.cards.map((c) => c.card)).toEqual([1]);
    expect(agent.cards[0]!.ds.eniList().map((e) => [e.id, e.routeTableId])).toEqual([[ena.id, 10101]]);
    // the EFA-only interface takes one of the card's two ENI slots
    expect((await status())[1]).toEqual([1, true, `EFA-only ${efa.id} shares it with managed ${ena.id}`, 1]);
    const m = await scrape();
    expect(m).toMatch(/^vpccni_network_card_eni_max\{network_card="1"\} 1$/m);
    expect(m).toMatch(/^vpccni_network_card_ip_max\{network_card="1"\} 49$/m);
    expect(m).toMatch(/^awscni_eni_max 3$/m);
    expect(m).toMatch(/^awscni_ip_max 147$/m);
  });
});
