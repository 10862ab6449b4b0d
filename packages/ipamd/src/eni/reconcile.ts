// Reconciliation (docs/architecture.md#warm-pool, "Reconcile") with "truth over IMDS": IMDS is read every
// time (cheap, no EC2 call); only when it disagrees with the datastore is EC2 asked (one
// DescribeNetworkInterfaces for the instance), and only EC2's answer changes the pool. So a lagging or stale
// IMDS can neither add an unconfirmed address nor drop a live ENI, and a node at rest makes zero EC2 calls.
import { DescribeNetworkInterfacesCommand, type EC2Client, type NetworkInterface } from '@aws-sdk/client-ec2';
import type { Logger } from '@vpc-cni/shared/logging';
import type { AttachedEni } from '../imds/index.js';
import type { Datastore, Released } from '../store/index.js';
import { type CallObserver, ec2Call } from './ec2-call.js';
import type { EniLedger } from './ledger.js';
import type { EniPlumbing } from './plumbing.js';
import type { FreedCache } from './shrink.js';
import { type ManagedEniRules, isManagedEni } from './managed.js';
import type { PoolObserver } from './observer.js';
import { cardTable } from '../cards/index.js';

/** Addresses given back less than this long ago are not re-added (IMDS keeps listing them for a while). */
export const FREED_QUARANTINE_MS = 60_000;

export interface ReconcileDeps {
  ec2: EC2Client;
  ds: Datastore;
  ledger: EniLedger;
  plumbing: EniPlumbing;
  freed: FreedCache;
  /** ENIs not ours to manage (no_manage tag, other network cards); filled from EC2's answers. */
  unmanaged: Set<string>;
  instanceId: string;
  /** Attached ENIs as IMDS shows them now. */
  readImds: () => Promise<AttachedEni[]>;
  now: () => number;
  logger: Logger;
  onCall?: CallObserver | undefined;
  /** Which ENIs are ours (default: every untagged one too). */
  rules?: ManagedEniRules;
  observer?: PoolObserver | undefined;
}

export interface ReconcileResult {
  /** True when IMDS disagreed and EC2 was asked. */
  askedEc2: boolean;
  enisAdded: string[];
  enisRemoved: string[];
  cidrsAdded: string[];
  cidrsRemoved: string[];
  /** Pods whose address went away with its ENI or CIDR (the caller persists and reports them). */
  released: Released[];
}

const cidrsOf = (e: { secondaryIps: string[]; ipv4Prefixes: string[] }): string[] => [
  ...e.secondaryIps.map((ip) => `${ip}/32`),
  ...e.ipv4Prefixes,
];

function agrees(ds: Datastore, imds: AttachedEni[], unmanaged: Set<string>): boolean {
  const inDs = new Map(ds.eniList().map((e) => [e.id, e]));
  const managed = imds.filter((e) => !unmanaged.has(e.eniId));
  if (managed.length !== inDs.size) return false; // an ENI only one side knows
  for (const e of managed) {
    const have = inDs.get(e.eniId)?.cidrs;
    if (!have) return false;
    const want = cidrsOf(e);
    if (want.length !== have.size || want.some((c) => !have.has(c))) return false;
  }
  return true;
}

async function describeAttached(d: ReconcileDeps): Promise<NetworkInterface[]> {
  const out: NetworkInterface[] = [];
  let token: string | undefined;
  do {
    const r = await ec2Call(
      'DescribeNetworkInterfaces',
      () =>
        d.ec2.send(
          new DescribeNetworkInterfacesCommand({
            Filters: [{ Name: 'attachment.instance-id', Values: [d.instanceId] }],
            MaxResults: 1000,
            NextToken: token,
          }),
        ),
      d,
    );
    out.push(...(r.NetworkInterfaces ?? []));
    token = r.NextToken;
  } while (token);
  const attached = out.filter(
    (n) => n.Attachment?.Status !== 'detaching' && n.Attachment?.Status !== 'detached',
  );
  const rules = d.rules ?? { primaryEniId: '', manageUntagged: true };
  const ours = (n: NetworkInterface) => isManagedEni(n, rules);
  for (const n of attached) if (!ours(n)) d.unmanaged.add(n.NetworkInterfaceId!);
  return attached.filter(ours);
}

export async function reconcilePool(d: ReconcileDeps): Promise<ReconcileResult> {
  const res: ReconcileResult = {
    askedEc2: false,
    enisAdded: [],
    enisRemoved: [],
    cidrsAdded: [],
    cidrsRemoved: [],
    released: [],
  };
  const imds = await d.readImds();
  if (agrees(d.ds, imds, d.unmanaged)) return res;
  res.askedEc2 = true;
  const truth = await describeAttached(d);
  const now = d.now();
  const subnetCidrs = new Map(imds.map((e) => [e.eniId, e.subnetCidr]));
  const known = new Set(d.ds.eniList().map((e) => e.id));

  // ENIs attached in EC2 that the pool does not have (e.g. an earlier plumbing failure): plumb and add.
  for (const n of truth) {
    const id = n.NetworkInterfaceId!;
    if (known.has(id)) continue;
    const device = n.Attachment?.DeviceIndex ?? 0;
    const card = d.rules?.card ?? 0;
    const subnetCidr = subnetCidrs.get(id);
    if ((device === 0 && card === 0) || !n.MacAddress || !n.PrivateIpAddress || !subnetCidr) continue; // IMDS not caught up yet
    const host = {
      id,
      mac: n.MacAddress.toLowerCase(),
      primaryIp: n.PrivateIpAddress,
      subnetCidr,
      deviceNumber: device,
      table: cardTable(card, device),
      card,
    };
    // A trunk attached by the VPC resource controller (security groups for pods) is adopted as a trunk.
    const isTrunk = n.InterfaceType === 'trunk';
    let table = host.table;
    try {
      table = (await d.plumbing.up({ ...host, isTrunk })) ?? host.table;
    } catch (e) {
      d.observer?.error('eniReconcileAdd');
      d.logger.warn({ eni: id, err: e }, 'reconcile: attached ENI could not be set up; retry next time');
      continue;
    }
    d.ds.addEni({
      id,
      deviceNumber: device,
      isTrunk,
      routeTableId: table,
      subnetId: n.SubnetId,
      subnetCidr,
    });
    d.ledger.record(id, { mac: host.mac, primaryIp: host.primaryIp });
    res.enisAdded.push(id);
  }

  // Addresses: EC2's list is the pool's list.
  const byId = new Map(truth.map((n) => [n.NetworkInterfaceId!, n]));
  for (const eni of d.ds.eniList()) {
    const n = byId.get(eni.id);
    if (!n) continue;
    const want = new Map<string, boolean>();
    for (const a of n.PrivateIpAddresses ?? [])
      if (!a.Primary && a.PrivateIpAddress) want.set(`${a.PrivateIpAddress}/32`, false);
    for (const p of n.Ipv4Prefixes ?? []) if (p.Ipv4Prefix) want.set(p.Ipv4Prefix, true);
    for (const [cidr, isPrefix] of want) {
      if (eni.cidrs.has(cidr)) continue;
      const freedAt = d.freed.get(cidr);
      if (freedAt !== undefined && now - freedAt < FREED_QUARANTINE_MS) continue;
      d.freed.delete(cidr);
      d.ds.addCidr(eni.id, cidr, isPrefix);
      res.cidrsAdded.push(cidr);
    }
    for (const cidr of [...eni.cidrs.keys()])
      if (!want.has(cidr)) {
        const gone = d.ds.delCidr(eni.id, cidr, true);
        if (gone.length) d.observer?.forceRemoved(0, gone.length);
        res.released.push(...gone);
        res.cidrsRemoved.push(cidr);
      }
  }

  // ENIs the pool has but EC2 no longer shows attached to this instance.
  for (const eni of d.ds.eniList()) {
    if (byId.has(eni.id) || eni.isPrimary) continue;
    const gone = d.ds.removeEni(eni.id, true);
    if (gone.length) d.observer?.forceRemoved(1, gone.length);
    res.released.push(...gone);
    const f = d.ledger.get(eni.id);
    if (f?.mac && f.primaryIp && eni.subnetCidr)
      await d.plumbing
        .down({
          id: eni.id,
          mac: f.mac,
          primaryIp: f.primaryIp,
          subnetCidr: eni.subnetCidr,
          deviceNumber: eni.deviceNumber,
          table: eni.routeTableId,
        })
        .catch((e: unknown) => d.logger.warn({ eni: eni.id, err: e }, 'reconcile: host teardown failed'));
    d.ledger.forget(eni.id);
    res.enisRemoved.push(eni.id);
  }
  for (const [cidr, at] of d.freed) if (now - at >= FREED_QUARANTINE_MS) d.freed.delete(cidr);
  d.observer?.reconciled('eniReconcileAdd', res.enisAdded.length);
  d.observer?.reconciled('eniReconcileDel', res.enisRemoved.length);
  d.observer?.reconciled('eniDataStorePoolReconcileAdd', res.cidrsAdded.length);
  d.observer?.reconciled('eniIPPoolReconcileDel', res.cidrsRemoved.length);
  if (res.enisAdded.length + res.enisRemoved.length + res.cidrsAdded.length + res.cidrsRemoved.length > 0)
    d.logger.info(
      { ...res, released: res.released.map((r) => r.address) },
      'reconcile: pool corrected from EC2',
    );
  return res;
}
