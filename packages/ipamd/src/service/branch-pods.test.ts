// Branch-ENI pods through the real IpamService (docs/architecture.md#addnetwork-and-delnetwork): answered
// from the annotation, the datastore and checkpoint untouched; other pods fall through to pool addresses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@vpc-cni/shared/logging';
import { AddNetworkRequest, DelNetworkRequest } from '@vpc-cni/shared/rpc';
import type { PodView } from '../k8s/pod-eni.js';
import { Checkpoint } from '../persistence/index.js';
import { Datastore } from '../store/index.js';
import { BranchPods, branchGateway, type SelfManagedBranches } from './branch-pods.js';
import { IpamService } from './ipam-service.js';
import { MemorySupply } from './memory-supply.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const annotation = (o: Record<string, unknown> = {}) =>
  JSON.stringify([
    {
      eniId: 'eni-0br',
      ifAddress: '02:aa:bb:cc:dd:01',
      privateIp: '10.0.40.17',
      ipv6Addr: '2001:db8:40::17',
      vlanId: 3,
      subnetCidr: '10.0.32.0/19',
      subnetV6Cidr: '2001:db8:40::/64',
      associationID: 'trunk-assoc-1',
      ...o,
    },
  ]);

function setup(o: {
  pods: Record<string, PodView>;
  trunk?: number;
  ipv6?: boolean;
  failLookup?: boolean;
  selfManaged?: SelfManagedBranches;
  /** A watch cache's (possibly stale) views: answered unless a fresh read is asked for. */
  cached?: Record<string, PodView>;
}) {
  const freshReads: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'vct-branch-'));
  dirs.push(dir);
  const ds = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 0 });
  ds.addEni({ id: 'eni-a', deviceNumber: 0, routeTableId: 254, isPrimary: true });
  ds.addCidr('eni-a', '10.0.1.5/32', false);
  const ckpt = new Checkpoint(join(dir, 'ipam.json'), () => ds.allocations(), silentLogger);
  const branch = new BranchPods({
    lookup: {
      pod: async (ns, name, opts) => {
        if (o.failLookup) throw new Error('connection refused');
        const hit = o.cached?.[`${ns}/${name}`];
        if (hit && !opts?.fresh) return { ...hit, cached: true };
        if (o.cached) freshReads.push(`${ns}/${name}`);
        return o.pods[`${ns}/${name}`];
      },
    },
    ipv6: o.ipv6 ?? false,
    trunkLinkIndex: async () => o.trunk,
    baseReply: (f) => svc.baseReply(f),
    networkPolicyMode: '',
    logger: silentLogger,
    ...(o.selfManaged ? { selfManaged: o.selfManaged } : {}),
  });
  const svc: IpamService = new IpamService(ds, ckpt, new MemorySupply(ds, { reserve: new Map(), batch: 1 }), {
    version: 'v',
    addWaitMs: 100,
    networkPolicyMode: '',
    vpcCidrs: () => ({ v4: ['10.0.0.0/16'], v6: ['2001:db8::/56'] }),
    externalSnat: false,
    logger: silentLogger,
    branch,
  });
  return { ds, ckpt, svc, freshReads };
}

const req = (name: string, c = `c-${name}`) =>
  AddNetworkRequest.fromPartial({
    ContainerID: c,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    K8S_POD_NAME: name,
    K8S_POD_NAMESPACE: 'ns',
  });
const delReq = (name: string, uid = '') =>
  DelNetworkRequest.fromPartial({
    ContainerID: `c-${name}`,
    IfName: 'eth0',
    NetworkName: 'aws-cni',
    K8S_POD_NAME: name,
    K8S_POD_NAMESPACE: 'ns',
    K8S_POD_UID: uid,
    Reason: 'PodDeleted',
  });
const branchPod = (ann?: string, uid = 'uid-1'): PodView => ({
  uid,
  labels: {},
  serviceAccountName: 'default',
  wantsBranchEni: true,
  podEniAnnotation: ann,
});

const plainPod = (): PodView => ({ ...branchPod(undefined, 'u'), wantsBranchEni: false });

describe('branch-ENI pods (ENABLE_POD_ENI)', () => {
  it('a pod limiting vpc.amazonaws.com/pod-eni gets its branch ENI; the pool is not touched', async () => {
    const { svc, ds, ckpt } = setup({ pods: { 'ns/web': branchPod(annotation()) }, trunk: 7 });
    const r = await svc.addNetwork(req('web'));
    expect(r).toEqual({
      Success: true,
      IPAllocationMetadata: [{ IPv4Addr: '10.0.40.17', IPv6Addr: '', DeviceNumber: -1, RouteTableId: 0 }],
      UseExternalSNAT: false,
      VPCv4CIDRs: ['10.0.0.0/16'],
      VPCv6CIDRs: [],
      PodVlanId: 3,
      PodENIMAC: '02:aa:bb:cc:dd:01',
      PodENISubnetGW: '10.0.32.1',
      ParentIfIndex: 7,
      NetworkPolicyMode: '',
    });
    expect(ds.allocations()).toEqual([]);
    expect(ckpt.writes).toBe(0);
    // idempotent: the annotation is read again
    expect((await svc.addNetwork(req('web'))).PodVlanId).toBe(3);
  });
  it('other pods take pool addresses', async () => {
    const { svc, ds } = setup({
      pods: {
        'ns/plain': plainPod(),
      },
      trunk: 7,
    });
    const r = await svc.addNetwork(req('plain'));
    expect(r).toMatchObject({
      Success: true,
      PodVlanId: 0,
      IPAllocationMetadata: [{ IPv4Addr: '10.0.1.5' }],
    });
    expect(ds.allocations()).toHaveLength(1);
  });
  it('refuses (Success=false, kubelet retries) without trunk, annotation, pod or a usable annotation', async () => {
    const cases: Array<[Parameters<typeof setup>[0], string]> = [
      [{ pods: { 'ns/p': branchPod(annotation()) } }, 'no trunk'],
      [{ pods: { 'ns/p': branchPod(undefined) }, trunk: 7 }, 'annotation not yet written'],
      [{ pods: {}, trunk: 7 }, 'pod unknown to the API server'],
      [{ pods: { 'ns/p': branchPod(annotation()) }, trunk: 7, failLookup: true }, 'API server down'],
      [{ pods: { 'ns/p': branchPod('[]') }, trunk: 7 }, 'empty list'],
      [{ pods: { 'ns/p': branchPod('nope') }, trunk: 7 }, 'not JSON'],
      [{ pods: { 'ns/p': branchPod(annotation({ vlanId: 0 })) }, trunk: 7 }, 'VLAN 0'],
      [{ pods: { 'ns/p': branchPod(annotation({ subnetCidr: 'x' })) }, trunk: 7 }, 'bad subnet'],
    ];
    for (const [o, what] of cases) {
      const { svc, ds } = setup(o);
      expect(await svc.addNetwork(req('p')), what).toMatchObject({
        Success: false,
        IPAllocationMetadata: [],
      });
      expect(ds.allocations(), what).toEqual([]);
    }
  });
  it('IPv6 mode takes ipv6Addr and the fe80:ec2::1 gateway', async () => {
    const { svc } = setup({ pods: { 'ns/v6': branchPod(annotation()) }, trunk: 4, ipv6: true });
    expect(await svc.addNetwork(req('v6'))).toMatchObject({
      Success: true,
      IPAllocationMetadata: [{ IPv6Addr: '2001:db8:40::17', IPv4Addr: '' }],
      PodENISubnetGW: 'fe80:ec2::1',
      VPCv6CIDRs: ['2001:db8::/56'],
    });
  });
  it('DEL of a branch pod answers its VLAN and address; pod gone is done; a UID mismatch is an error', async () => {
    const { svc } = setup({
      pods: {
        'ns/web': branchPod(annotation(), 'uid-1'),
        'ns/plain': plainPod(),
      },
      trunk: 7,
    });
    expect(await svc.delNetwork(delReq('web', 'uid-1'))).toEqual({
      Success: true,
      IPAllocationMetadata: [{ IPv4Addr: '10.0.40.17', IPv6Addr: '', DeviceNumber: -1, RouteTableId: 0 }],
      PodVlanId: 3,
      NetworkPolicyMode: '',
    });
    expect(await svc.delNetwork(delReq('gone'))).toMatchObject({ Success: true, IPAllocationMetadata: [] });
    await expect(svc.delNetwork(delReq('web', 'uid-2'))).rejects.toThrow(
      /pod UID mismatch: got uid-2, expected uid-1/,
    );
    await expect(svc.delNetwork(delReq('plain'))).rejects.toThrow(/unknown pod/);
  });
  it('from a watch cache: ordinary pods are answered from it; a possible branch pod is read again first', async () => {
    const plain = plainPod();
    const { svc, freshReads } = setup({
      // The cache has not seen the controller's annotation yet; the API server has.
      cached: { 'ns/plain': plain, 'ns/web': branchPod() },
      pods: { 'ns/plain': plain, 'ns/web': branchPod(annotation()) },
      trunk: 7,
    });
    expect((await svc.addNetwork(req('plain'))).PodVlanId).toBe(0);
    expect(freshReads).toEqual([]);
    expect(await svc.addNetwork(req('web'))).toMatchObject({ Success: true, PodVlanId: 3 });
    expect(freshReads).toEqual(['ns/web']);
    // DEL always reads the pod from the API (its annotation and UID decide the teardown).
    expect((await svc.delNetwork(delReq('web'))).PodVlanId).toBe(3);
    expect(freshReads).toEqual(['ns/web', 'ns/web']);
  });
  it('gateway: network address + 1 for IPv4, rejects what is not a CIDR', () => {
    expect(branchGateway('10.0.32.0/19', false)).toBe('10.0.32.1');
    expect(branchGateway('10.0.45.77/19', false)).toBe('10.0.32.1');
    expect(branchGateway('100.64.0.0/10', false)).toBe('100.64.0.1');
    expect(branchGateway('10.0.0.0', false)).toBeUndefined();
    expect(branchGateway('300.0.0.0/8', false)).toBeUndefined();
    expect(branchGateway('2001:db8::/64', true)).toBe('fe80:ec2::1');
  });
});

describe('self-managed branch ENIs (VPC_CNI_MANAGE_BRANCH_ENIS)', () => {
  function manager(o: { groups: Record<string, string[]>; failCreate?: 'groups' | 'other' }) {
    const calls: string[] = [];
    const annotations = new Map<string, string | null>();
    const sm: SelfManagedBranches = {
      match: async (_ns, pod) => ({ policies: [], groups: o.groups[pod.labels['role'] ?? ''] ?? [] }),
      ensureTrunk: async () => true,
      create: async (ns, name, _pod, groups) => {
        calls.push(`create ${ns}/${name} ${groups.join(',')}`);
        if (o.failCreate === 'groups') throw new Error('InvalidGroup.NotFound: sg-x does not exist');
        if (o.failCreate === 'other') throw new Error('RequestLimitExceeded');
        return {
          eniId: 'eni-0new',
          ifAddress: '02:00:00:00:00:09',
          privateIp: '10.0.33.9',
          ipv6Addr: '',
          vlanId: 4,
          subnetCidr: '10.0.32.0/19',
          subnetV6Cidr: '',
          associationId: 'trunk-assoc-9',
        };
      },
      annotate: async (ns, name, value) => void annotations.set(`${ns}/${name}`, value),
      warn: async (ns, name, reason) => void calls.push(`warn ${ns}/${name} ${reason}`),
      release: async (eniId) => {
        calls.push(`release ${eniId}`);
        return eniId !== 'eni-0theirs';
      },
      isGroupError: (e) => String(e).includes('InvalidGroup'),
    };
    return { sm, calls, annotations };
  }
  const labelled = (role: string, ann?: string): PodView => ({
    uid: 'u-1',
    labels: { role },
    serviceAccountName: 'default',
    wantsBranchEni: false,
    podEniAnnotation: ann,
  });

  it('a pod matching a policy gets a new branch ENI, recorded in its annotation; others use the pool', async () => {
    const m = manager({ groups: { 'test-role': ['sg-2'] } });
    const { svc, ds } = setup({
      pods: { 'ns/web': labelled('test-role'), 'ns/other': labelled('nope') },
      trunk: 9,
      selfManaged: m.sm,
    });
    expect(await svc.addNetwork(req('web'))).toMatchObject({
      Success: true,
      PodVlanId: 4,
      PodENIMAC: '02:00:00:00:00:09',
      PodENISubnetGW: '10.0.32.1',
      ParentIfIndex: 9,
      IPAllocationMetadata: [{ IPv4Addr: '10.0.33.9' }],
    });
    expect(m.calls).toEqual(['create ns/web sg-2']);
    expect(JSON.parse(m.annotations.get('ns/web') ?? '[]')).toEqual([
      expect.objectContaining({ eniId: 'eni-0new', vlanId: 4, associationID: 'trunk-assoc-9' }),
    ]);
    expect((await svc.addNetwork(req('other'))).PodVlanId).toBe(0);
    expect(ds.allocations()).toHaveLength(1);
  });
  it('a stale cached view never makes a second branch ENI: the fresh read shows the one already made', async () => {
    const m = manager({ groups: { 'test-role': ['sg-2'] } });
    const { svc, freshReads } = setup({
      cached: { 'ns/web': labelled('test-role'), 'ns/other': labelled('nope') },
      pods: { 'ns/web': labelled('test-role', annotation()), 'ns/other': labelled('nope') },
      trunk: 9,
      selfManaged: m.sm,
    });
    expect(await svc.addNetwork(req('web'))).toMatchObject({ Success: true, PodVlanId: 3 });
    expect(m.calls).toEqual([]);
    expect((await svc.addNetwork(req('other'))).PodVlanId).toBe(0);
    expect(freshReads).toEqual(['ns/web']);
  });
  it('an annotated pod reuses its branch ENI; DEL releases it and clears the annotation', async () => {
    const m = manager({ groups: { 'test-role': ['sg-2'] } });
    const { svc } = setup({
      pods: { 'ns/web': labelled('test-role', annotation()) },
      trunk: 9,
      selfManaged: m.sm,
    });
    expect((await svc.addNetwork(req('web'))).PodVlanId).toBe(3);
    expect(await svc.delNetwork(delReq('web'))).toMatchObject({ Success: true, PodVlanId: 3 });
    expect(m.calls).toEqual(['release eni-0br']);
    expect(m.annotations.get('ns/web')).toBeNull();
    // A branch ENI another creator made (the resource controller): not deleted, its annotation left alone.
    const t = manager({ groups: {} });
    const theirs = setup({
      pods: { 'ns/web': labelled('test-role', annotation({ eniId: 'eni-0theirs' })) },
      trunk: 9,
      selfManaged: t.sm,
    });
    expect(await theirs.svc.delNetwork(delReq('web'))).toMatchObject({ Success: true, PodVlanId: 3 });
    expect(t.calls).toEqual(['release eni-0theirs']);
    expect(t.annotations.has('ns/web')).toBe(false);
  });
  it('a group EC2 does not know fails the ADD with the cause and a pod event; other errors are refusals', async () => {
    const bad = manager({ groups: { 'test-role': ['sg-x'] }, failCreate: 'groups' });
    const a = setup({ pods: { 'ns/web': labelled('test-role') }, trunk: 9, selfManaged: bad.sm });
    await expect(a.svc.addNetwork(req('web'))).rejects.toMatchObject({
      code: 9,
      details: expect.stringMatching(/sg-x.*InvalidGroup\.NotFound.*fix the policy/),
    });
    expect(bad.calls).toContain('warn ns/web SecurityGroupNotFound');
    const flaky = manager({ groups: { 'test-role': ['sg-2'] }, failCreate: 'other' });
    const b = setup({ pods: { 'ns/web': labelled('test-role') }, trunk: 9, selfManaged: flaky.sm });
    expect(await b.svc.addNetwork(req('web'))).toMatchObject({ Success: false });
  });
});
