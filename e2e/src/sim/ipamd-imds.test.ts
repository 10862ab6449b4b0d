// ipamd's own IMDS reader (packages/ipamd/src/imds) against the simulator: the facts and ENIs it reads are the
// world's, which checks both sides agree on paths and formats.
import { ImdsClient, readAttachedEnis, readNodeFacts } from '@vpc-cni/ipamd/imds';
import { afterEach, expect, it } from 'vitest';
import { attachEni } from './ops-attach.js';
import { assignIpv4, createEni } from './ops-eni.js';
import type { Sim } from './sim.js';
import { SG_1, SG_2, SUBNET_A, startSmall } from './testkit.js';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.stop();
});

it('readNodeFacts and readAttachedEnis see the simulated node', async () => {
  sim = await startSmall();
  const w = sim.world;
  const node = await sim.launch({ type: 'm5.xlarge', subnetId: SUBNET_A, groups: [SG_1, SG_2] });
  const eni = createEni(w, { subnetId: SUBNET_A, secondaryCount: 3 });
  await attachEni(w, { eniId: eni.id, instanceId: node.instance.id, deviceIndex: 2 }, 0);
  const prefixes = assignIpv4(w, eni.id, { prefixCount: 1 }).prefixes;
  const imds = new ImdsClient({ endpoint: node.imdsUrl });
  const facts = await readNodeFacts(imds);
  const primary = w.eni(node.instance.primaryEniId);
  expect(facts).toEqual({
    region: 'us-west-2',
    az: 'us-west-2a',
    instanceId: node.instance.id,
    instanceType: 'm5.xlarge',
    localIpv4: primary.primaryIp,
    primaryMac: primary.mac,
    primaryEniId: primary.id,
    subnetId: SUBNET_A,
    vpcId: w.vpc.id,
    vpcIpv4Cidrs: w.vpc.cidrs,
    securityGroups: [SG_1, SG_2],
  });
  const enis = await readAttachedEnis(imds, facts.primaryMac);
  expect(
    enis.map((e) => [e.eniId, e.deviceNumber, e.primaryIp, e.secondaryIps, e.ipv4Prefixes, e.subnetCidr]),
  ).toEqual([
    [primary.id, 0, primary.primaryIp, [], [], '10.0.1.0/24'],
    [eni.id, 2, eni.primaryIp, eni.secondaryIps, prefixes, '10.0.1.0/24'],
  ]);
});
