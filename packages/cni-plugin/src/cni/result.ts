// CNI results: one internal (1.x-shaped) model, printed in the shape each cniVersion requires, and parsed back
// from any version's prevResult.
import { CniCode, CniError } from './errors.js';
import { compareVersions, requireVersion, type CniVersion } from './version.js';

export interface ResultInterface {
  readonly name: string;
  /** aws-cni puts the route table id / vlan id here, not a MAC (upstream compatibility). */
  readonly mac?: string;
  readonly sandbox?: string;
}
export interface ResultIp {
  /** Index into `interfaces`. */
  readonly interface?: number;
  /** CIDR form, e.g. `10.0.1.23/32`. */
  readonly address: string;
  readonly gateway?: string;
}
export interface ResultRoute {
  readonly dst: string;
  readonly gw?: string;
}
export interface ResultDns {
  readonly nameservers?: string[];
  readonly domain?: string;
  readonly search?: string[];
  readonly options?: string[];
}
export interface CniResult {
  readonly interfaces: ResultInterface[];
  readonly ips: ResultIp[];
  readonly routes?: ResultRoute[];
  readonly dns?: ResultDns;
}

export function ipFamily(cidr: string): '4' | '6' {
  return cidr.includes(':') ? '6' : '4';
}

function dnsIsEmpty(d: ResultDns | undefined): boolean {
  return (
    !d || Object.values(d).every((v) => v === undefined || (Array.isArray(v) ? v.length === 0 : v === ''))
  );
}

/** The object for `version` (key order as upstream prints it). */
export function resultForVersion(r: CniResult, version: CniVersion): Record<string, unknown> {
  if (compareVersions(version, '0.3.0') < 0) {
    const out: Record<string, unknown> = { cniVersion: version };
    for (const fam of ['4', '6'] as const) {
      const ip = r.ips.find((i) => ipFamily(i.address) === fam);
      if (!ip) continue;
      const routes = (r.routes ?? []).filter((rt) => ipFamily(rt.dst) === fam);
      out[`ip${fam}`] = {
        ip: ip.address,
        ...(ip.gateway ? { gateway: ip.gateway } : {}),
        ...(routes.length ? { routes } : {}),
      };
    }
    out['dns'] = r.dns ?? {};
    return out;
  }
  const legacy = compareVersions(version, '1.0.0') < 0;
  const out: Record<string, unknown> = {
    cniVersion: version,
    interfaces: r.interfaces.map((i) => ({
      name: i.name,
      ...(i.mac !== undefined && i.mac !== '' ? { mac: i.mac } : {}),
      ...(i.sandbox !== undefined && i.sandbox !== '' ? { sandbox: i.sandbox } : {}),
    })),
    ips: r.ips.map((ip) => ({
      ...(legacy ? { version: ipFamily(ip.address) } : {}),
      ...(ip.interface !== undefined ? { interface: ip.interface } : {}),
      address: ip.address,
      ...(ip.gateway ? { gateway: ip.gateway } : {}),
    })),
  };
  if (r.routes?.length) out['routes'] = r.routes;
  if (legacy) out['dns'] = r.dns ?? {};
  else if (!dnsIsEmpty(r.dns)) out['dns'] = r.dns;
  return out;
}

/** stdout text: 4-space indented JSON, no trailing newline (as the CNI library prints). */
export function formatResult(r: CniResult, version: CniVersion): string {
  return JSON.stringify(resultForVersion(r, version), null, 4);
}

const bad = (what: string) =>
  new CniError(
    CniCode.DecodeFailure,
    `could not parse prevResult: ${what}`,
    'the runtime passed a malformed prevResult',
  );

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw bad(`${what} must be a string`);
  return v;
}
function optStr(v: unknown, what: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, what);
}
function arr(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(`${what} must be an array`);
  return v;
}
function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function parseRoutes(v: unknown, what: string): ResultRoute[] {
  return arr(v, what).map((x, n) => {
    const o = obj(x, `${what}[${n}]`);
    const gw = optStr(o['gw'], `${what}[${n}].gw`);
    return { dst: str(o['dst'], `${what}[${n}].dst`), ...(gw ? { gw } : {}) };
  });
}

/** Parses a prevResult of any supported version (a missing cniVersion is taken from the config). */
export function parseResult(raw: Record<string, unknown>, confVersion: CniVersion): CniResult {
  const version = requireVersion(optStr(raw['cniVersion'], 'cniVersion') ?? confVersion);
  const dns =
    raw['dns'] === undefined || raw['dns'] === null ? undefined : (obj(raw['dns'], 'dns') as ResultDns);
  if (compareVersions(version, '0.3.0') < 0) {
    const ips: ResultIp[] = [];
    const routes: ResultRoute[] = [];
    for (const fam of ['ip4', 'ip6']) {
      if (raw[fam] === undefined || raw[fam] === null) continue;
      const o = obj(raw[fam], fam);
      const gateway = optStr(o['gateway'], `${fam}.gateway`);
      ips.push({ address: str(o['ip'], `${fam}.ip`), ...(gateway ? { gateway } : {}) });
      routes.push(...parseRoutes(o['routes'], `${fam}.routes`));
    }
    return { interfaces: [], ips, ...(routes.length ? { routes } : {}), ...(dns ? { dns } : {}) };
  }
  const interfaces = arr(raw['interfaces'], 'interfaces').map((x, n) => {
    const o = obj(x, `interfaces[${n}]`);
    const mac = optStr(o['mac'], `interfaces[${n}].mac`);
    const sandbox = optStr(o['sandbox'], `interfaces[${n}].sandbox`);
    return {
      name: str(o['name'], `interfaces[${n}].name`),
      ...(mac ? { mac } : {}),
      ...(sandbox ? { sandbox } : {}),
    };
  });
  const ips = arr(raw['ips'], 'ips').map((x, n) => {
    const o = obj(x, `ips[${n}]`);
    const idx = o['interface'];
    if (idx !== undefined && idx !== null && (typeof idx !== 'number' || !Number.isInteger(idx) || idx < 0)) {
      throw bad(`ips[${n}].interface must be a non-negative integer`);
    }
    const gateway = optStr(o['gateway'], `ips[${n}].gateway`);
    return {
      ...(typeof idx === 'number' ? { interface: idx } : {}),
      address: str(o['address'], `ips[${n}].address`),
      ...(gateway ? { gateway } : {}),
    };
  });
  const routes = parseRoutes(raw['routes'], 'routes');
  return { interfaces, ips, ...(routes.length ? { routes } : {}), ...(dns ? { dns } : {}) };
}
