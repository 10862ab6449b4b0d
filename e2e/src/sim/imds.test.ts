// IMDS: v2 tokens, every path ipamd reads (docs/architecture.md#imds), and propagation lag on the simulator
// clock.
import { MetadataService } from '@aws-sdk/ec2-metadata-service';
import { afterEach, describe, expect, it } from 'vitest';
import { assignIpv4 } from './ops-eni.js';
import { attachEni, launchInstance } from './ops-attach.js';
import { createEni } from './ops-eni.js';
import type { Sim } from './sim.js';
import { SG_1, SG_2, SUBNET_A, startSmall } from './testkit.js';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
});

const TTL = 'x-aws-ec2-metadata-token-ttl-seconds';

async function token(url: string, ttl = '300'): Promise<Response> {
  return fetch(`${url}/latest/api/token`, { method: 'PUT', headers: { [TTL]: ttl } });
}

function getter(url: string, tok: string) {
  return async (path: string): Promise<{ status: number; body: string }> => {
    const r = await fetch(`${url}${path}`, { headers: { 'x-aws-ec2-metadata-token': tok } });
    return { status: r.status, body: await r.text() };
  };
}

describe('IMDS tokens', () => {
  it('PUT returns a token and echoes the TTL; GET without a token is 401 when v2 is required; v1 works when not', async () => {
    let now = 5_000_000;
    sim = await startSmall({ clock: () => now });
    const node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A });
    const r = await token(node.imdsUrl, '21600');
    expect(r.status).toBe(200);
    expect(r.headers.get(TTL)).toBe('21600');
    const tok = await r.text();
    expect(tok.length).toBeGreaterThan(20);
    expect((await fetch(`${node.imdsUrl}/latest/meta-data/instance-id`)).status).toBe(401);
    expect((await getter(node.imdsUrl, 'bogus')('/latest/meta-data/instance-id')).status).toBe(401);
    expect((await getter(node.imdsUrl, tok)('/latest/meta-data/instance-id')).body).toBe(node.instance.id);
    expect((await token(node.imdsUrl, '0')).status).toBe(400);
    expect((await fetch(`${node.imdsUrl}/latest/api/token`)).status).toBe(405);
    const short = await (await token(node.imdsUrl, '1')).text();
    now += 1001;
    expect((await getter(node.imdsUrl, short)('/latest/meta-data/mac')).status).toBe(401);
    node.imds.requireV2 = false;
    expect(await (await fetch(`${node.imdsUrl}/latest/meta-data/instance-type`)).text()).toBe('m5.large');
  });
});

describe('IMDS paths', () => {
  it('serves identity, placement, primary facts and every per-MAC field ipamd reads', async () => {
    sim = await startSmall();
    const node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1, SG_2], ipv6: true });
    const w = sim.world;
    const eni = createEni(w, { subnetId: SUBNET_A, secondaryCount: 2 });
    await attachEni(w, { eniId: eni.id, instanceId: node.instance.id, deviceIndex: 1 }, 0);
    const pfx = assignIpv4(w, eni.id, { prefixCount: 1 }).prefixes;
    const get = getter(node.imdsUrl, await (await token(node.imdsUrl)).text());
    const md = async (p: string): Promise<string> => {
      const r = await get(`/latest/meta-data/${p}`);
      expect(r.status, p).toBe(200);
      return r.body;
    };
    const doc = JSON.parse((await get('/latest/dynamic/instance-identity/document')).body) as Record<
      string,
      string
    >;
    expect(doc).toMatchObject({
      region: 'us-west-2',
      instanceId: node.instance.id,
      instanceType: 'm5.large',
      availabilityZone: 'us-west-2a',
    });
    const primary = w.eni(node.instance.primaryEniId);
    expect(await md('placement/availability-zone')).toBe('us-west-2a');
    expect(await md('local-ipv4')).toBe(primary.primaryIp);
    expect(await md('ipv6')).toBe(primary.ipv6Addresses[0]);
    expect(await md('instance-id')).toBe(node.instance.id);
    expect(await md('instance-type')).toBe('m5.large');
    expect(await md('mac')).toBe(primary.mac);
    expect((await md('network/interfaces/macs')).split('\n')).toEqual([`${primary.mac}/`, `${eni.mac}/`]);
    const base = `network/interfaces/macs/${primary.mac}`;
    expect(await md(`${base}/interface-id`)).toBe(primary.id);
    expect(await md(`${base}/device-number`)).toBe('0');
    expect(await md(`${base}/network-card`)).toBe('0');
    expect(await md(`${base}/subnet-id`)).toBe(SUBNET_A);
    expect(await md(`${base}/vpc-id`)).toBe(w.vpc.id);
    expect((await md(`${base}/vpc-ipv4-cidr-blocks`)).split('\n')).toEqual(w.vpc.cidrs);
    expect(await md(`${base}/vpc-ipv6-cidr-blocks`)).toBe(w.vpc.ipv6Cidr);
    expect((await md(`${base}/security-group-ids`)).split('\n')).toEqual([SG_1, SG_2]);
    expect(await md(`${base}/subnet-ipv4-cidr-block`)).toBe('10.0.1.0/24');
    expect(await md(`${base}/subnet-ipv6-cidr-blocks`)).toBe('2600:1f14:abc:de01::/64');
    expect(await md(`${base}/ipv6s`)).toBe(primary.ipv6Addresses[0]);
    expect((await get(`/latest/meta-data/${base}/ipv4-prefix`)).status).toBe(404);
    const sec = `network/interfaces/macs/${eni.mac}`;
    const listing = (await md(`${sec}/`)).split('\n');
    expect(listing).toContain('local-ipv4s');
    expect(listing).toContain('ipv4-prefix');
    expect(listing).not.toContain('ipv6s');
    expect((await md(`${sec}/local-ipv4s`)).split('\n')).toEqual([eni.primaryIp, ...eni.secondaryIps]);
    expect(await md(`${sec}/ipv4-prefix`)).toBe(pfx.join('\n'));
    expect(await md(`${sec}/device-number`)).toBe('1');
    expect((await get(`/latest/meta-data/${sec}/ipv6s`)).status).toBe(404);
    expect(
      (await get('/latest/meta-data/network/interfaces/macs/02:00:00:00:00:99/interface-id')).status,
    ).toBe(404);
  });

  it('propagation lag: IMDS shows the ENI state as of `lag` ms ago', async () => {
    let now = 10_000_000;
    sim = await startSmall({ clock: () => now, imdsLagMs: 1000 });
    const w = sim.world;
    const node = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A });
    const get = getter(node.imdsUrl, await (await token(node.imdsUrl)).text());
    now += 5000;
    const eni = createEni(w, { subnetId: SUBNET_A, secondaryCount: 1 });
    await attachEni(w, { eniId: eni.id, instanceId: node.instance.id, deviceIndex: 1 }, 0);
    const macs = async (): Promise<string[]> =>
      (await get('/latest/meta-data/network/interfaces/macs')).body.split('\n');
    expect(await macs()).toHaveLength(1);
    now += 999;
    expect(await macs()).toHaveLength(1);
    now += 1;
    expect(await macs()).toHaveLength(2);
    assignIpv4(w, eni.id, { count: 2 });
    const ips = async (): Promise<number> =>
      (await get(`/latest/meta-data/network/interfaces/macs/${eni.mac}/local-ipv4s`)).body.split('\n').length;
    expect(await ips()).toBe(2);
    now += 1000;
    expect(await ips()).toBe(4);
    node.imds.lagMs = Infinity; // stale: frozen at the first snapshot of this instance
    expect(await macs()).toHaveLength(1);
  });
});

describe('IMDS via the AWS SDK metadata client', () => {
  it('@aws-sdk/ec2-metadata-service reads through the token flow', async () => {
    sim = await startSmall();
    const node = await sim.launch({ type: 'c5.large', subnetId: SUBNET_A });
    const client = new MetadataService({ endpoint: node.imdsUrl });
    expect(await client.request('/latest/meta-data/instance-type', {})).toBe('c5.large');
    expect(await client.request('/latest/meta-data/instance-id', {})).toBe(node.instance.id);
  });
});

describe('launchInstance without the server', () => {
  it('a world can be driven directly (no HTTP) for unit tests', async () => {
    sim = await startSmall();
    const inst = await launchInstance(sim.world, { type: 'm5.large', subnetId: SUBNET_A });
    expect(sim.world.enisOf(inst.id).map((e) => e.attachment?.status)).toEqual(['attached']);
  });
});
