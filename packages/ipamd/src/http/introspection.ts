// Introspection HTTP (docs/architecture.md#introspection-and-metrics): upstream's endpoints and JSON shapes,
// plus /v1/errors (ours): the last errors with their cause and what to do.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IpamdConfig } from '@vpc-cni/shared/config';
import type { Datastore } from '../store/index.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface RecordedError {
  time: string;
  operation: string;
  cause: string;
  remedy: string;
}

/** A bounded log of recent errors for /v1/errors. */
export class ErrorLog {
  private readonly items: RecordedError[] = [];
  constructor(private readonly max = 100) {}
  record(operation: string, cause: string, remedy: string): void {
    this.items.push({ time: new Date().toISOString(), operation, cause, remedy });
    if (this.items.length > this.max) this.items.shift();
  }
  list(): readonly RecordedError[] {
    return this.items;
  }
}

/** RFC 3339 with nanoseconds, as Go prints time.Time. */
export function rfc3339Nano(ns: bigint | undefined): string {
  if (!ns) return ZERO_TIME;
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // ...sss Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

function maskBase64(bits: number, family: 4 | 6): string {
  const len = family === 4 ? 4 : 16;
  const b = Buffer.alloc(len);
  for (let i = 0; i < bits; i++) b[i >> 3] = (b[i >> 3] ?? 0) | (0x80 >> (i & 7));
  return b.toString('base64');
}

/** Another managed network card's datastore (ENABLE_MULTI_NIC). */
export interface CardView {
  card: number;
  ds: Datastore;
}

/** `/v1/enis`: one entry per managed network card, keyed by its index as a string (upstream's shape). */
export function enisDocument(ds: Datastore, others: readonly CardView[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = { '0': cardDocument(ds) };
  for (const c of others) out[String(c.card)] = cardDocument(c.ds);
  return out;
}

function cardDocument(ds: Datastore): Record<string, unknown> {
  const enis: Record<string, unknown> = {};
  for (const eni of ds.eniList()) {
    const v4: Record<string, unknown> = {};
    const v6: Record<string, unknown> = {};
    for (const cidr of eni.cidrs.values()) {
      const addrs: Record<string, unknown> = {};
      for (const a of cidr.addresses.values())
        addrs[a.address] = {
          Address: a.address,
          // containerID and ifName are blanked, as upstream does.
          IPAMKey: { networkName: a.key?.networkName ?? '', containerID: '', ifName: '' },
          IPAMMetadata: a.metadata ?? {},
          AssignedTime: rfc3339Nano(a.key ? a.assignedAtNs : undefined),
          UnassignedTime: a.unassignedAtMs ? new Date(a.unassignedAtMs).toISOString() : ZERO_TIME,
        };
      const doc = {
        Cidr: { IP: cidr.text.split('/')[0], Mask: maskBase64(cidr.cidr.bits, cidr.cidr.family) },
        IPAddresses: addrs,
        IsPrefix: cidr.isPrefix,
        AddressFamily: '',
      };
      (cidr.cidr.family === 4 ? v4 : v6)[cidr.text] = doc;
    }
    enis[eni.id] = {
      ID: eni.id,
      IsPrimary: eni.isPrimary,
      IsTrunk: eni.isTrunk,
      IsEFA: eni.isEfa,
      DeviceNumber: eni.deviceNumber,
      AvailableIPv4Cidrs: v4,
      IPv6Cidrs: v6,
      IsExcludedForPodIPs: eni.excludedForPods,
      RouteTableID: eni.routeTableId,
      SubnetID: eni.subnetId,
    };
  }
  const s = ds.stats();
  return { TotalIPs: s.totalIPs, AssignedIPs: s.assignedIPs, ENIs: enis };
}

/** One card of the instance type for `/v1/network-cards` (ours). */
export interface CardStatus {
  card: number;
  managed: boolean;
  why: string;
  /** Only for managed cards. */
  capacity?: { enis: number; ips: number } | undefined;
  ds?: Datastore | undefined;
  checkpoint?: string | undefined;
}

/**
 * `/v1/network-cards` (ours, not upstream): every card of the instance type, managed or not and why, and for a
 * managed card its capacity, pool and checkpoint file (docs/architecture.md#network-cards).
 */
export function networkCardsDocument(cards: readonly CardStatus[]): unknown[] {
  return cards.map((c) => {
    const s = c.ds?.stats();
    return {
      NetworkCard: c.card,
      Managed: c.managed,
      Reason: c.why,
      ...(c.capacity ? { ENIMax: c.capacity.enis, IPMax: c.capacity.ips } : {}),
      ...(c.ds && s
        ? {
            ENIs: c.ds.eniList().map((e) => e.id),
            TotalIPs: s.totalIPs,
            AssignedIPs: s.assignedIPs,
            TotalPrefixes: s.totalPrefixes,
          }
        : {}),
      ...(c.checkpoint ? { Checkpoint: c.checkpoint } : {}),
    };
  });
}

const RANDOMIZE: Record<string, number> = { none: 0, hashrandom: 1, prng: 2 };

export function introspectionHandler(
  ds: Datastore,
  cfg: IpamdConfig,
  errors: ErrorLog,
  eniConfigName: () => Promise<string | undefined>,
  cards: () => readonly CardView[] = () => [],
  cardStatus: () => readonly CardStatus[] = () => [],
) {
  const paths: Record<string, () => unknown> = {
    '/v1/enis': () => enisDocument(ds, cards()),
    '/v1/network-cards': () => networkCardsDocument(cardStatus()),
    '/v1/eni-configs': () => eniConfigName(),
    '/v1/networkutils-env-settings': () => ({
      AWS_EXTERNAL_SERVICE_CIDRS: cfg.AWS_EXTERNAL_SERVICE_CIDRS.length
        ? cfg.AWS_EXTERNAL_SERVICE_CIDRS
        : null,
      AWS_VPC_CNI_NODE_PORT_SUPPORT: cfg.AWS_VPC_CNI_NODE_PORT_SUPPORT,
      AWS_VPC_ENI_MTU: cfg.AWS_VPC_ENI_MTU,
      AWS_VPC_K8S_CNI_CONNMARK: cfg.AWS_VPC_K8S_CNI_CONNMARK,
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: cfg.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS.length
        ? cfg.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS
        : null,
      AWS_VPC_K8S_CNI_EXTERNALSNAT: cfg.AWS_VPC_K8S_CNI_EXTERNALSNAT,
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: RANDOMIZE[String(cfg.AWS_VPC_K8S_CNI_RANDOMIZESNAT)] ?? 2,
      AWS_VPC_K8S_CNI_VETHPREFIX: cfg.AWS_VPC_K8S_CNI_VETHPREFIX,
    }),
    '/v1/ipamd-env-settings': () => ({
      AWS_MANAGE_ENIS_NON_SCHEDULABLE: cfg.AWS_MANAGE_ENIS_NON_SCHEDULABLE,
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: cfg.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG,
      ENABLE_SUBNET_DISCOVERY: cfg.ENABLE_SUBNET_DISCOVERY,
      WARM_ENI_TARGET: cfg.WARM_ENI_TARGET,
      WARM_IP_TARGET: cfg.WARM_IP_TARGET,
    }),
    '/v1/errors': () => errors.list(),
  };
  const send = (res: ServerResponse, body: unknown): void => {
    if (body === undefined) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'not available' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const fn = paths[path];
    const body = fn ? fn() : { AvailableCommands: Object.keys(paths) };
    if (body instanceof Promise)
      body.then(
        (b: unknown) => send(res, b),
        () => send(res, undefined),
      );
    else send(res, body);
  };
}
