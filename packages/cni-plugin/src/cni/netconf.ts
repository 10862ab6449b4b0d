// The network configuration read from stdin (upstream aws-cni NetConf plus three vpc-cni-ts extensions).
import { describeValue, excerpt } from '@vpc-cni/shared/describe';
import { ENDPOINT_FORMS, endpointTarget } from '@vpc-cni/shared/rpc';
import { CniCode, CniError } from './errors.js';
import { isValidId } from './env.js';
import { requireVersion, type CniVersion } from './version.js';

export const DEFAULT_IPAMD_ENDPOINT = 'unix:///var/run/aws-node/ipamd.sock';
/** Where upstream's plugin dials aws-network-policy-agent (its `--npa-socket` default). */
export const DEFAULT_NPA_ENDPOINT = 'unix:///var/run/aws-node/npa.sock';
export const DEFAULT_MTU = 9001;
export const DEFAULT_ADD_TIMEOUT_MS = 30_000;
/** Node's timers hold a signed 32-bit millisecond count; a larger delay silently becomes 1 ms. */
export const MAX_IPAMD_TIMEOUT_MS = 2 ** 31 - 1;
export const NIC_CONFIG_ANNOTATION = 'k8s.amazonaws.com/nicConfig';
export const POD_ANNOTATIONS_KEY = 'io.kubernetes.cri.pod-annotations';

export type SgMode = 'strict' | 'standard';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface NetConf {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  readonly vethPrefix: string;
  readonly mtu: number;
  readonly podSGEnforcingMode: SgMode;
  readonly pluginLogFile: string;
  readonly pluginLogLevel: LogLevel;
  readonly podAnnotations: Readonly<Record<string, string>>;
  /** The raw prevResult object, if any (converted later by the result module). */
  readonly prevResult: Record<string, unknown> | undefined;
  /** vpc-cni-ts extension: ipamd endpoint (tests point it at a temp socket). */
  readonly ipamdEndpoint: string;
  /** vpc-cni-ts extension: AddNetwork deadline; long enough for an on-demand ENI attach. */
  readonly ipamdTimeoutMs: number;
  /** vpc-cni-ts extension: the network policy agent's endpoint (its `--npa-socket`); one per node. */
  readonly npaEndpoint: string;
  /** The whole parsed object, for chaining and GC (cni.dev/valid-attachments). */
  readonly raw: Readonly<Record<string, unknown>>;
}

const invalid = (msg: string, details = '') => new CniError(CniCode.InvalidNetworkConfig, msg, details);

function optString(o: Record<string, unknown>, key: string, dflt: string): string {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string')
    throw invalid(`${key} must be a string, got ${describeValue(v)}`, `set "${key}": "<value>"`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Pod MTU: unparsable or outside [576, 9001] falls back to 9001 (upstream behaviour). */
export function podMtu(text: string): number {
  if (!/^\s*-?\d+\s*$/.test(text)) return DEFAULT_MTU;
  const n = Number.parseInt(text, 10);
  return n < 576 || n > DEFAULT_MTU ? DEFAULT_MTU : n;
}

/** Upstream's log level names, case-insensitive; anything else is debug. Shared with egress-cni's config. */
export function logLevel(text: string): LogLevel {
  const l = text.toLowerCase();
  return l === 'info' || l === 'warn' || l === 'error' || l === 'fatal' ? l : 'debug';
}

/** Parses stdin. Decode failures are code 6, semantic ones 7, unsupported versions 1. */
export function parseNetConf(stdin: string): NetConf {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(
      CniCode.DecodeFailure,
      `error unmarshall network config: ${(e as Error).message}`,
      'stdin must be the JSON network configuration from the conflist',
    );
  }
  if (!isObject(parsed)) {
    throw new CniError(CniCode.DecodeFailure, 'error unmarshall network config: not a JSON object');
  }
  const o = parsed;
  const name = optString(o, 'name', '');
  if (name === '') throw invalid('missing network name', 'set "name" in the conflist');
  if (!isValidId(name)) throw invalid('invalid characters found in network name', excerpt(name));
  const cniVersion = requireVersion(optString(o, 'cniVersion', ''));

  const vethPrefix = optString(o, 'vethPrefix', 'eni');
  if (vethPrefix.length > 4) {
    throw invalid('conf.VethPrefix can be at most 4 characters long', `got ${excerpt(vethPrefix)}`);
  }
  const mtuRaw = o['mtu'];
  if (mtuRaw !== undefined && typeof mtuRaw !== 'string') {
    throw invalid(
      `mtu must be a string, got ${describeValue(mtuRaw)}`,
      'write the MTU as a string of digits, e.g. "mtu": "9001"',
    );
  }
  const mode = optString(o, 'podSGEnforcingMode', 'strict');
  if (mode !== 'strict' && mode !== 'standard') {
    throw invalid(`unknown podSGEnforcingMode ${excerpt(mode)}`, 'use "strict" or "standard"');
  }
  const rc = o['runtimeConfig'];
  if (rc !== undefined && !isObject(rc)) throw invalid('runtimeConfig must be an object');
  const annRaw = rc?.[POD_ANNOTATIONS_KEY];
  const podAnnotations: Record<string, string> = {};
  if (annRaw !== undefined && annRaw !== null) {
    if (!isObject(annRaw)) throw invalid(`runtimeConfig["${POD_ANNOTATIONS_KEY}"] must be an object`);
    for (const [k, v] of Object.entries(annRaw)) if (typeof v === 'string') podAnnotations[k] = v;
  }
  const prev = o['prevResult'];
  if (prev !== undefined && prev !== null && !isObject(prev)) {
    throw invalid('could not parse prevResult: not a JSON object');
  }
  const timeout = o['ipamdTimeoutMs'];
  if (
    timeout !== undefined &&
    (typeof timeout !== 'number' ||
      !Number.isInteger(timeout) ||
      timeout < 1 ||
      timeout > MAX_IPAMD_TIMEOUT_MS)
  ) {
    throw invalid(
      `ipamdTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_IPAMD_TIMEOUT_MS}, got ${describeValue(timeout)}`,
      `leave it out for the default (${DEFAULT_ADD_TIMEOUT_MS} ms)`,
    );
  }
  const ipamdEndpoint = optString(o, 'ipamdEndpoint', DEFAULT_IPAMD_ENDPOINT);
  const target = endpointTarget(ipamdEndpoint);
  if ('error' in target) {
    throw invalid(
      `ipamdEndpoint ${describeValue(ipamdEndpoint)} is not a valid endpoint: ${target.error}`,
      `use ${ENDPOINT_FORMS}, or leave it out for ${DEFAULT_IPAMD_ENDPOINT}`,
    );
  }
  const npaEndpoint = optString(o, 'npaEndpoint', DEFAULT_NPA_ENDPOINT);
  const npaTarget = endpointTarget(npaEndpoint);
  if ('error' in npaTarget) {
    throw invalid(
      `npaEndpoint ${describeValue(npaEndpoint)} is not a valid endpoint: ${npaTarget.error}`,
      `use ${ENDPOINT_FORMS}, or leave it out for ${DEFAULT_NPA_ENDPOINT}`,
    );
  }
  return {
    cniVersion,
    name,
    type: optString(o, 'type', ''),
    vethPrefix,
    mtu: podMtu(mtuRaw ?? String(DEFAULT_MTU)),
    podSGEnforcingMode: mode,
    pluginLogFile: optString(o, 'pluginLogFile', ''),
    pluginLogLevel: logLevel(optString(o, 'pluginLogLevel', '')),
    podAnnotations,
    prevResult: isObject(prev) ? prev : undefined,
    ipamdEndpoint,
    ipamdTimeoutMs: typeof timeout === 'number' ? timeout : DEFAULT_ADD_TIMEOUT_MS,
    npaEndpoint,
    raw: o,
  };
}

/** True iff the pod asked for one attachment per network card. */
export function requiresMultiNic(conf: NetConf): boolean {
  return conf.podAnnotations[NIC_CONFIG_ANNOTATION] === 'multi-nic-attachment';
}
