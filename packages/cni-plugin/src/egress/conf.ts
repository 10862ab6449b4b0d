// egress-cni's NetConf (stdin), parsed strictly: every value that is not what the plugin can use is a CNI error
// code 7 naming the key, a bounded description of the value and the accepted forms. Values are described without
// recursion or full stringification, so a hostile value (deeply nested, megabytes long) cannot crash the message.
import { isIPv4, isIPv6 } from '@vpc-cni/shared/ipmath';
import { CniCode, CniError } from '../cni/errors.js';
import { isValidId } from '../cni/env.js';
import { requireVersion, type CniVersion } from '../cni/version.js';
import { type LogLevel, logLevel } from '../cni/netconf.js';

export type SnatMode = 'none' | 'hashrandom' | 'random-fully';
export type EgressFamily = 4 | 6;

export interface EgressRoute {
  readonly dst: string;
}

/** The host-local IPAM section, reduced to what egress-cni uses: one range. */
export interface EgressIpamConf {
  readonly subnet: string;
  readonly rangeStart?: string;
  readonly rangeEnd?: string;
  readonly gateway?: string;
  readonly routes: readonly EgressRoute[];
  readonly dataDir: string;
}

export interface EgressConf {
  readonly cniVersion: CniVersion;
  readonly name: string;
  /** Only the exact string "true" enables the plugin (as upstream); anything else passes through. */
  readonly enabled: boolean;
  readonly mtu: number;
  /** '' or the node's primary IPv4 (IPv4 egress) / IPv6 (IPv6 egress). */
  readonly nodeIP: string;
  /** Which egress this is: IPv4 when nodeIP is IPv4 (IPv6 cluster), else IPv6 (IPv4 cluster). */
  readonly family: EgressFamily;
  readonly snat: SnatMode;
  readonly ipam: EgressIpamConf | undefined;
  readonly pluginLogFile: string;
  readonly pluginLogLevel: LogLevel;
  readonly prevResult: Record<string, unknown> | undefined;
}

export const DEFAULT_EGRESS_MTU = 9001;
/** host-local's default data directory. */
export const DEFAULT_IPAM_DATA_DIR = '/var/lib/cni/networks';
const EXCERPT = 40;

/** A bounded, non-recursive description of any JSON value, for error messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length} element${v.length === 1 ? '' : 's'}`;
  switch (typeof v) {
    case 'string': {
      const cut = v.length > EXCERPT ? `${v.slice(0, EXCERPT)}…` : v;
      return `the string ${JSON.stringify(cut)}${v.length > EXCERPT ? ` (${v.length} characters)` : ''}`;
    }
    case 'number':
    case 'boolean':
      return `the ${typeof v} ${String(v)}`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

const invalid = (key: string, value: unknown, accepted: string) =>
  new CniError(
    CniCode.InvalidNetworkConfig,
    `egress-cni: invalid "${key}": ${describeValue(value)}`,
    `accepted: ${accepted}`,
  );

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optString(o: Record<string, unknown>, key: string, dflt: string, accepted: string): string {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') throw invalid(key, v, accepted);
  return v;
}

function parseMtu(o: Record<string, unknown>, family: EgressFamily): number {
  const raw = o['mtu'];
  const min = family === 6 ? 1280 : 576;
  const accepted = `a decimal integer from ${min} to ${DEFAULT_EGRESS_MTU}, as a string (e.g. "9001")`;
  if (raw === undefined || raw === null || raw === '') return DEFAULT_EGRESS_MTU;
  if (typeof raw !== 'string' || !/^\d{1,5}$/.test(raw)) throw invalid('mtu', raw, accepted);
  const n = Number(raw);
  if (n < min || n > DEFAULT_EGRESS_MTU) throw invalid('mtu', raw, accepted);
  return n;
}

function parseSnat(o: Record<string, unknown>): SnatMode {
  const v = optString(o, 'randomizeSNAT', 'prng', '"none", "hashrandom" or "prng"');
  if (v === 'none' || v === 'hashrandom') return v;
  return 'random-fully'; // "prng" and anything else, as upstream
}

function ipOf(key: string, v: unknown, family: EgressFamily): string {
  const ok = typeof v === 'string' && (family === 4 ? isIPv4(v) : isIPv6(v));
  if (!ok) throw invalid(key, v, `an IPv${family} address`);
  return v;
}

function cidrOf(key: string, v: unknown, family: EgressFamily): string {
  const accepted = `an IPv${family} CIDR such as ${family === 4 ? '"169.254.172.0/22"' : '"fd00::ac:00/118"'}`;
  if (typeof v !== 'string') throw invalid(key, v, accepted);
  const [ip, bits, ...rest] = v.split('/');
  const max = family === 4 ? 32 : 128;
  if (rest.length || ip === undefined || bits === undefined || !/^\d{1,3}$/.test(bits))
    throw invalid(key, v, accepted);
  if ((family === 4 ? !isIPv4(ip) : !isIPv6(ip)) || Number(bits) > max || Number(bits) > max - 2)
    throw invalid(key, v, `${accepted} with room for a gateway and one address`);
  return v;
}

function parseIpam(raw: unknown, family: EgressFamily): EgressIpamConf {
  if (!isObject(raw))
    throw invalid('ipam', raw, 'an object {"type": "host-local", "ranges": [[{"subnet": …}]]}');
  if (raw['type'] !== 'host-local') throw invalid('ipam.type', raw['type'], '"host-local"');
  let range: Record<string, unknown>;
  const ranges = raw['ranges'];
  if (ranges !== undefined && ranges !== null) {
    const one = '[[{"subnet": "<cidr>"}]]: one range set holding one range (egress-cni takes one address)';
    if (!Array.isArray(ranges) || ranges.length !== 1) throw invalid('ipam.ranges', ranges, one);
    const set: unknown = ranges[0];
    if (!Array.isArray(set) || set.length !== 1 || !isObject(set[0]))
      throw invalid('ipam.ranges[0]', set, one);
    range = set[0];
  } else if (raw['subnet'] !== undefined) {
    range = raw; // host-local's older single-range form
  } else {
    throw invalid('ipam.ranges', ranges, '[[{"subnet": "<cidr>"}]]');
  }
  const subnet = cidrOf('ipam.ranges[0][0].subnet', range['subnet'], family);
  const opt = (k: string) =>
    range[k] === undefined || range[k] === null
      ? undefined
      : ipOf(`ipam.ranges[0][0].${k}`, range[k], family);
  const routesRaw = raw['routes'];
  let routes: EgressRoute[] = [];
  if (routesRaw !== undefined && routesRaw !== null) {
    const accepted = `a list of {"dst": "<IPv${family} CIDR>"}`;
    if (!Array.isArray(routesRaw) || routesRaw.length > 16) throw invalid('ipam.routes', routesRaw, accepted);
    routes = routesRaw.map((r: unknown, i) => {
      if (!isObject(r)) throw invalid(`ipam.routes[${i}]`, r, accepted);
      const dst = r['dst'];
      if (typeof dst !== 'string') throw invalid(`ipam.routes[${i}].dst`, dst, accepted);
      const [ip, bits] = dst.split('/');
      const max = family === 4 ? 32 : 128;
      const okIp = ip !== undefined && (family === 4 ? isIPv4(ip) : isIPv6(ip));
      if (!okIp || bits === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > max)
        throw invalid(`ipam.routes[${i}].dst`, dst, accepted);
      return { dst };
    });
  }
  const dataDir = optString(raw, 'dataDir', DEFAULT_IPAM_DATA_DIR, 'an absolute directory path');
  if (!dataDir.startsWith('/') || dataDir.includes('\0') || dataDir.length > 1024)
    throw invalid('ipam.dataDir', dataDir, 'an absolute directory path');
  return {
    subnet,
    ...(opt('rangeStart') ? { rangeStart: opt('rangeStart') } : {}),
    ...(opt('rangeEnd') ? { rangeEnd: opt('rangeEnd') } : {}),
    ...(opt('gateway') ? { gateway: opt('gateway') } : {}),
    routes,
    dataDir,
  };
}

/** Parses stdin. Decode failures are code 6, unsupported versions 1, everything else 7. */
export function parseEgressConf(stdin: string): EgressConf {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(
      CniCode.DecodeFailure,
      `egress-cni: could not read the config: ${(e as Error).message.slice(0, 200)}`,
      'stdin must be the JSON network configuration from the conflist',
    );
  }
  if (!isObject(parsed))
    throw new CniError(
      CniCode.DecodeFailure,
      `egress-cni: the config is ${describeValue(parsed)}, not a JSON object`,
      'stdin must be the JSON network configuration from the conflist',
    );
  const o = parsed;
  const rawVersion = optString(o, 'cniVersion', '', 'a CNI version such as "1.0.0"');
  // Bounded before it is quoted in the error (no supported version is that long).
  const cniVersion = requireVersion(rawVersion.length > 16 ? `${rawVersion.slice(0, 16)}…` : rawVersion);
  const name = optString(o, 'name', '', 'the network name from the conflist');
  if (name !== '' && !isValidId(name))
    throw invalid('name', name, 'letters, digits, "_", "." and "-", starting with a letter or digit');
  const enabledRaw = o['enabled'];
  if (enabledRaw !== undefined && enabledRaw !== null && typeof enabledRaw !== 'string')
    throw invalid('enabled', enabledRaw, '"true" or "false" (a string)');
  const enabled = enabledRaw === 'true';
  const nodeIP = optString(o, 'nodeIP', '', 'an IP address string or ""');
  if (nodeIP !== '' && !isIPv4(nodeIP) && !isIPv6(nodeIP))
    throw invalid(
      'nodeIP',
      nodeIP,
      "the node's primary IPv4 (IPv6 clusters) or IPv6 address (IPv4 clusters)",
    );
  const family: EgressFamily = isIPv4(nodeIP) ? 4 : 6;
  const prev = o['prevResult'];
  if (prev !== undefined && prev !== null && !isObject(prev))
    throw invalid('prevResult', prev, 'the previous plugin result (an object)');
  const pluginLogFile = optString(o, 'pluginLogFile', '', 'a file path');
  const pluginLogLevel = logLevel(optString(o, 'pluginLogLevel', '', '"debug", "info", "warn" or "error"'));
  // A disabled plugin only passes results through: the rest of the config is not its concern.
  const mtu = enabled ? parseMtu(o, family) : DEFAULT_EGRESS_MTU;
  const snat = enabled ? parseSnat(o) : 'random-fully';
  const ipam = enabled ? parseIpam(o['ipam'], family) : undefined;
  return {
    cniVersion,
    name,
    enabled,
    mtu,
    nodeIP,
    family,
    snat,
    ipam,
    pluginLogFile,
    pluginLogLevel,
    prevResult: isObject(prev) ? prev : undefined,
  };
}
