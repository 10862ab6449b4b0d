// ENABLE_MULTI_NIC with the other pool modes, against the simulated EC2 (agent in-process, no host networking):
// prefix delegation on network card 1; IPv6 mode (card 0 only, multi-NIC pods refused with that reason);
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
import { type IpamdWorld, addRequest, ipamdWorld, useSimulatorCredentials } from './ipamd-testkit.js';

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

/** The node's world with ENABLE_MULTI_NIC and introspection on (a free port), then `extra`; `env` is resolved. */
async function world(
  extra: Record<string, string>,
): Promise<Omit<IpamdWorld, 'env'> & { env: Record<string, string> }> {
  sim = await startSmall();
  const w = await ipamdWorld(sim, {
    type: TYPE,
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

  it('IPv6 mode: card 1 is left alone with the reason, and a multi-NIC pod is refused with it', async () => {
    const w = await world({ ENABLE_IPv6: 'true', ENABLE_IPv4: 'false', ENABLE_PREFIX_DELEGATION: 'true' });
    agent = await startAgent(w.env, silentLogger, { hostNetworking: false });
    expect(
      w.sim.world.enisOf(w.node.instance.id).filter((e) => e.attachment!.networkCardIndex === 1),
    ).toEqual([]);
    expect(await cardsDoc()).toEqual([
      [0, true, 'network card 0 holds the primary ENI'],
      [1, false, 'IPv6 mode manages network card 0 only: run multi-NIC pods on an IPv4 cluster'],
    ]);
    await expect(connect(w.env).call(CNIBackend.AddNetwork, addRequest('m1', true))).rejects.toThrow(
      /FAILED_PRECONDITION.*only network card 0 of hpc7a.12xlarge is managed \(card 1: IPv6 mode manages network card 0 only/,
    );
    // an ordinary pod is served from card 0's /80
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
