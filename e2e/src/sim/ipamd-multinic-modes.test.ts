// ENABLE_MULTI_NIC with the other pool modes, against the simulated EC2 (agent in-process, no host networking):
// prefix delegation on network card 1; IPv6 mode (every card: an ENI with one IPv6 address and one /80 per card);
// DISABLE_NETWORK_RESOURCE_PROVISIONING (a card's addresses are all there is, no EC2 write for any card);
// ENABLE_IMDS_ONLY_MODE (a card > 0 is managed from the ENIs IMDS lists on it, no EC2 call at all).
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { CNIBackend, RpcClient } from '@vpc-cni/shared/rpc';
import { type Agent, startAgent } from '@vpc-cni/ipamd/agent';
import { cidrContains, parseCidr } from '@vpc-cni/shared/ipmath';
import { createEni } from './ops-eni.js';
import { attachEni } from './ops-attach.js';
import type { Node, Sim } from './sim.js';
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
const EC2_WRITES =
  /^(Create|Attach|Assign|Unassign|Delete|Detach|Modify)(NetworkInterface|PrivateIpAddresses|Ipv6Addresses|Tags)/;

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

const V6 = { ENABLE_IPv6: 'true', ENABLE_IPv4: 'false', ENABLE_PREFIX_DELEGATION: 'true' };

/** The node's world with ENABLE_MULTI_NIC and introspection on (a free port), then `extra`; `env` is resolved. */
async function world(
  extra: Record<string, string>,
  ipv6 = false,
): Promise<Omit<IpamdWorld, 'env'> & { env: Record<string, string> }> {
  sim = await startSmall();
  const w = await ipamdWorld(sim, {
    type: TYPE,
    ipv6,
    dirs,
    prefix: 'mnicm',
    defaults: {
      DISABLE_INTROSPECTION: 'false',
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
      ENABLE_MULTI_NIC: 'true',
      VPC_CNI_ADD_WAIT_SECONDS: '1',
    },
  });
  return { ...w, env: w.env(extra) };
}

const connect = (env: Record<string, string>) =>
  (client = new RpcClient({ endpoint: `unix://${env['VPC_CNI_IPAMD_SOCKET']}` }));
const cardsDoc = async () =>
  (
    (await (await fetch(`http://127.0.0.1:${agent!.introspectionPort}/v1/network-cards`)).json()) as {
      NetworkCard: number;
      Managed: boolean;
      Reason: string;
    }[]
  ).map((c) => [c.NetworkCard, c.Managed, c.Reason]);

/** Attaches an ENI with `ips` secondary addresses on network card 1 by hand (as a launch template would). */
async function handAttached(w: { sim: Sim; node: Node }, ips: number) {
  const eni = createEni(w.sim.world, { subnetId: SUBNET_A, groups: [SG_1], secondaryCount: ips });
  await attachEni(
    w.sim.world,
    { eniId: eni.id, instanceId: w.node.instance.id, deviceIndex: 0, networkCardIndex: 1 },
    0,
  );
  return eni;
}

describe('ENABLE_MULTI_NIC with the other pool modes', () => {
  it('prefix delegation: card 1 gets an ENI with one /28 prefix and no secondary IP; the multi-NIC pod takes its card-1 address from it', async () => {
    const w = await world({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' });
    agent = await startAgent(w.env, silentLogger, { hostNetworking: false });
    const card1 = w.sim.world.enisOf(w.node.instance.id).filter((e) => e.attachment!.networkCardIndex === 1);
    expect(card1).toHaveLength(1);
    expect(card1[0]!.ipv4Prefixes).toHaveLength(1);
    expect(card1[0]!.secondaryIps).toEqual([]);
    const r = await connect(w.env).call(CNIBackend.AddNetwork, addRequest('m1', true));
    const a1 = r.IPAllocationMetadata[1]!;
    expect(a1.RouteTableId).toBe(10100);
    expect(cidrContains(parseCidr(card1[0]!.ipv4Prefixes[0]!), a1.IPv4Addr)).toBe(true);
    expect(agent.cards[0]!.ds.stats()).toMatchObject({ totalPrefixes: 1, totalIPs: 16, assignedIPs: 1 });
  });

  it('IPv6 mode: card 1 gets an ENI created with one IPv6 address on NetworkCardIndex 1 and one /80; a multi-NIC pod one IPv6 address per card; a restart adopts it with no EC2 write', async () => {
    const w = await world(V6, true);
    agent = await startAgent(w.env, silentLogger, { hostNetworking: false });
    const card1 = () =>
      w.sim.world.enisOf(w.node.instance.id).filter((e) => e.attachment!.networkCardIndex === 1);
    expect(card1()).toHaveLength(1);
    const eni = card1()[0]!;
    expect(eni.attachment!.deviceIndex).toBe(0);
    expect(eni.ipv6Addresses).toHaveLength(1);
    expect(eni.ipv6Prefixes).toHaveLength(1);
    expect(eni.secondaryIps).toEqual([]);
    // as upstream: created with Ipv6AddressCount=1 only, then given its /80 by AssignIpv6Addresses
    const writes = w.sim.faults.calls.filter((c) => EC2_WRITES.test(c.action));
    expect(writes.map((c) => c.action)).toEqual([
      'AssignIpv6Addresses', // card 0's primary ENI /80
      'CreateNetworkInterface',
      'AttachNetworkInterface',
      'ModifyNetworkInterfaceAttribute',
      'AssignIpv6Addresses',
    ]);
    expect(writes[1]!.params).toMatchObject({ Ipv6AddressCount: '1', SubnetId: SUBNET_A });
    expect(Object.keys(writes[1]!.params).filter((k) => /Private|Ipv4|Prefix/.test(k))).toEqual([]);
    expect(writes[2]!.params).toMatchObject({ NetworkCardIndex: '1', DeviceIndex: '0' });
    expect(writes[4]!.params).toMatchObject({ NetworkInterfaceId: eni.id, Ipv6PrefixCount: '1' });
    expect(agent.cards.map((c) => c.card)).toEqual([1]);
    expect(agent.cards[0]!.ds.eniList().map((e) => [e.id, e.routeTableId])).toEqual([[eni.id, 10100]]);
    expect((await cardsDoc())[1]).toEqual([1, true, 'no device attached yet']);

    const r = await connect(w.env).call(CNIBackend.AddNetwork, addRequest('m1', true));
    expect(r.IPAllocationMetadata.map((m) => [m.IPv4Addr, m.RouteTableId])).toEqual([
      ['', 254],
      ['', 10100],
    ]);
    const [a0, a1] = r.IPAllocationMetadata.map((m) => m.IPv6Addr);
    const primary = w.sim.world.eni(w.node.instance.primaryEniId);
    expect(cidrContains(parseCidr(primary.ipv6Prefixes[0]!), a0!)).toBe(true);
    expect(cidrContains(parseCidr(eni.ipv6Prefixes[0]!), a1!)).toBe(true);
    expect(r.VPCv6CIDRs).toEqual(['2600:1f14:abc:de00::/56']);
    // an ordinary pod stays on card 0
    const plain = await client!.call(CNIBackend.AddNetwork, addRequest('o1'));
    expect(plain.IPAllocationMetadata).toHaveLength(1);
    expect(cidrContains(parseCidr(primary.ipv6Prefixes[0]!), plain.IPAllocationMetadata[0]!.IPv6Addr)).toBe(
      true,
    );
    expect(agent.cards[0]!.ds.stats().assignedIPs).toBe(1);

    // restart: the card-1 ENI and its /80 are adopted (no EC2 write), the multi-NIC pod keeps both addresses
    client!.close();
    client = undefined;
    await agent.stop();
    w.sim.faults.resetCalls();
    agent = await startAgent(w.env, silentLogger, { hostNetworking: false });
    expect(w.sim.faults.calls.filter((c) => EC2_WRITES.test(c.action))).toEqual([]);
    expect(card1()).toHaveLength(1);
    const again = await connect(w.env).call(CNIBackend.AddNetwork, addRequest('m1', true));
    expect(again.IPAllocationMetadata.map((m) => m.IPv6Addr)).toEqual([a0, a1]);
    const del = await client!.call(CNIBackend.DelNetwork, delRequest('m1'));
    expect(del.IPAllocationMetadata.map((m) => m.IPv6Addr).sort()).toEqual([a0, a1].sort());
    expect(agent.cards[0]!.ds.stats().assignedIPs).toBe(0);
    expect(agent.ds.stats().assignedIPs).toBe(1); // o1
    // DEL never gives anything back to EC2 in IPv6 mode
    expect(w.sim.faults.calls.filter((c) => EC2_WRITES.test(c.action))).toEqual([]);
  });

  it('IPv6 mode: a card-1 ENI attached beforehand with an IPv6 address but no prefix gets its /80 and no new ENI; a card whose ENI cannot be created refuses multi-NIC pods with the cause, all or nothing', async () => {
    const w = await world(V6, true);
    const eni = createEni(w.sim.world, { subnetId: SUBNET_A, groups: [SG_1], ipv6Count: 1 });
    await attachEni(
      w.sim.world,
      { eniId: eni.id, instanceId: w.node.instance.id, deviceIndex: 1, networkCardIndex: 1 },
      0,
    );
    w.sim.faults.resetCalls();
    agent = await startAgent(w.env, silentLogger, { hostNetworking: false });
    const writes = w.sim.faults.calls.filter((c) => EC2_WRITES.test(c.action));
    expect(writes.map((c) => [c.action, c.params['NetworkInterfaceId']])).toEqual([
      ['AssignIpv6Addresses', w.node.instance.primaryEniId],
      ['AssignIpv6Addresses', eni.id],
    ]);
    expect(w.sim.world.eni(eni.id).ipv6Prefixes).toHaveLength(1);
    expect(agent.cards[0]!.ds.eniList().map((e) => [e.id, e.routeTableId])).toEqual([[eni.id, 10101]]);
    const r = await connect(w.env).call(CNIBackend.AddNetwork, addRequest('m1', true));
    expect(
      cidrContains(parseCidr(w.sim.world.eni(eni.id).ipv6Prefixes[0]!), r.IPAllocationMetadata[1]!.IPv6Addr),
    ).toBe(true);
    client!.close();
    client = undefined;
    await agent.stop();
    agent = undefined;
    await sim!.stop();
    sim = undefined;

    // a fresh node where EC2 refuses the card-1 ENI: ipamd starts and serves ordinary pods; a multi-NIC pod gets
    // the cause and keeps no card-0 address
    const w2 = await world(V6, true);
    w2.sim.faults.config.failNext['CreateNetworkInterface'] = [
      {
        code: 'InvalidParameterValue',
        message: 'Subnet has no IPv6 addresses left for the test',
        status: 400,
      },
    ];
    agent = await startAgent(w2.env, silentLogger, { hostNetworking: false });
    expect(
      w2.sim.world.enisOf(w2.node.instance.id).filter((e) => e.attachment!.networkCardIndex === 1),
    ).toEqual([]);
    await expect(connect(w2.env).call(CNIBackend.AddNetwork, addRequest('m2', true))).rejects.toThrow(
      /network card 1: IPv6 mode: creating the card's ENI failed \(InvalidParameterValue: Subnet has no IPv6 addresses left for the test\)/,
    );
    expect(agent.ds.stats().assignedIPs).toBe(0);
    const plain = await client!.call(CNIBackend.AddNetwork, addRequest('o1'));
    expect(plain.IPAllocationMetadata[0]!.IPv6Addr).toMatch(/:/);
  });

  it('DISABLE_NETWORK_RESOURCE_PROVISIONING: card 1 serves the addresses already on its ENI, then refuses; no EC2 write for any card', async () => {
    const w = await world({ DISABLE_NETWORK_RESOURCE_PROVISIONING: 'true' });
    const eni = await handAttached(w, 1);
    w.sim.faults.resetCalls();
    agent = await startAgent(w.env, silentLogger, { hostNetworking: false });
    // card 0 needs one address too: the primary ENI has none, so give it two by hand
    expect(agent.cards.map((c) => c.card)).toEqual([1]);
    expect(agent.cards[0]!.ds.eniList().map((e) => [e.id, e.routeTableId])).toEqual([[eni.id, 10100]]);
    const { assignIpv4 } = await import('./ops-eni.js');
    assignIpv4(w.sim.world, w.node.instance.primaryEniId, { count: 2 });
    await agent.manager!.reconcile();
    const first = await connect(w.env).call(CNIBackend.AddNetwork, addRequest('m1', true));
    expect(first.IPAllocationMetadata[1]!.IPv4Addr).toBe(eni.secondaryIps[0]);
    await expect(client!.call(CNIBackend.AddNetwork, addRequest('m2', true))).rejects.toThrow(
      /network card 1: network resource provisioning is disabled on this node \(DISABLE_NETWORK_RESOURCE_PROVISIONING\)/,
    );
    // all or nothing: m2's card-0 address was given back
    expect(agent.ds.stats().assignedIPs).toBe(1);
    expect(w.sim.faults.calls.filter((c) => EC2_WRITES.test(c.action))).toEqual([]);
  });

  it('ENABLE_IMDS_ONLY_MODE: card 1 is managed from the addresses IMDS lists on it, no EC2 call; without an ENI there it is left out with the reason', async () => {
    const w = await world({ ENABLE_IMDS_ONLY_MODE: 'true' });
    const { assignIpv4 } = await import('./ops-eni.js');
    assignIpv4(w.sim.world, w.node.instance.primaryEniId, { count: 3 });
    agent = await startAgent(w.env, silentLogger, { hostNetworking: false });
    expect(agent.cards).toEqual([]);
    expect((await cardsDoc())[1]).toEqual([
      1,
      false,
      'IMDS-only mode: no ENI with an address is attached to it and ipamd makes no EC2 call to attach one; attach one before ipamd starts',
    ]);
    await expect(connect(w.env).call(CNIBackend.AddNetwork, addRequest('m1', true))).rejects.toThrow(
      /only network card 0 of hpc7a.12xlarge is managed \(card 1: IMDS-only mode/,
    );
    client!.close();
    client = undefined;
    await agent.stop();

    const eni = await handAttached(w, 2);
    w.sim.faults.resetCalls();
    agent = await startAgent(w.env, silentLogger, { hostNetworking: false });
    expect(agent.cards[0]!.ds.eniList().map((e) => [e.id, e.routeTableId])).toEqual([[eni.id, 10100]]);
    expect((await cardsDoc())[1]).toEqual([1, true, 'IMDS-only mode: the addresses IMDS lists on its ENIs']);
    const got = [];
    for (const c of ['m1', 'm2'])
      got.push(
        (await connect(w.env).call(CNIBackend.AddNetwork, addRequest(c, true))).IPAllocationMetadata[1]!
          .IPv4Addr,
      );
    expect(got.sort()).toEqual([...eni.secondaryIps].sort());
    await expect(client!.call(CNIBackend.AddNetwork, addRequest('m3', true))).rejects.toThrow(
      /network card 1: ENABLE_IMDS_ONLY_MODE: ipamd makes no EC2 call/,
    );
    expect(w.sim.faults.calls).toEqual([]);
  });
});
