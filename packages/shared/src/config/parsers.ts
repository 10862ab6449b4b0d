// Value parsers for environment variables, matching upstream's Go parsing (strconv.ParseBool, strconv.Atoi,
// base-prefixed integers). A parser returns the value or throws Rejected(what is accepted).
import { isIPv4 } from '../ipmath/ip-syntax.js';
import { z } from 'zod';
import { Rejected } from './errors.js';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function parseBool(raw: string): boolean {
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  throw new Rejected('a boolean (true/false, 1/0, t/f, TRUE/FALSE, True/False)');
}

/** Go strconv.Atoi: optional sign and decimal digits only. */
export function parseAtoi(raw: string, accepted = 'an integer'): number {
  if (!/^[+-]?\d+$/.test(raw)) throw new Rejected(accepted);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Rejected(accepted);
  return n;
}

export const intAtLeast =
  (min: number) =>
  (raw: string): number => {
    const accepted = `an integer >= ${min}`;
    const n = parseAtoi(raw, accepted);
    if (n < min) throw new Rejected(accepted);
    return n;
  };

export const intInRange =
  (min: number, max: number) =>
  (raw: string): number => {
    const accepted = `an integer from ${min} to ${max}`;
    const n = parseAtoi(raw, accepted);
    if (n < min || n > max) throw new Rejected(accepted);
    return n;
  };

/** Integer with an optional base prefix (0x, 0o, 0b), as Go's strconv.ParseInt(s, 0, 64). */
export const anyBaseIntInRange =
  (min: number, max: number) =>
  (raw: string): number => {
    const accepted = `an integer from ${min} to 0x${max.toString(16)} (decimal, 0x…, 0o… or 0b…)`;
    const m = /^([+-]?)(0x[0-9a-f]+|0o[0-7]+|0b[01]+|\d+)$/i.exec(raw.replace(/_/g, ''));
    if (!m) throw new Rejected(accepted);
    const n = Number(m[2]) * (m[1] === '-' ? -1 : 1);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new Rejected(accepted);
    return n;
  };

export const oneOf =
  <T extends string>(values: readonly T[], opts: { caseInsensitive?: boolean } = {}) =>
  (raw: string): T => {
    const found = values.find((v) =>
      opts.caseInsensitive ? v.toLowerCase() === raw.toLowerCase() : v === raw,
    );
    if (found === undefined)
      throw new Rejected(`one of ${values.join(', ')}${opts.caseInsensitive ? ' (any case)' : ''}`);
    return found;
  };

export const nonEmpty = (raw: string): string => {
  if (raw.trim() === '') throw new Rejected('a non-empty value');
  return raw;
};

export const anyString = (raw: string): string => raw;

/** Any JSON document, kept as text (the reader validates its shape). */
export const jsonText = (raw: string): string => {
  try {
    JSON.parse(raw);
  } catch {
    throw new Rejected('a JSON document');
  }
  return raw;
};

/** An http(s) URL without a trailing slash. */
export const httpUrl = (raw: string): string => {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new Rejected('an http:// or https:// URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Rejected('an http:// or https:// URL');
  return u.href.replace(/\/+$/, '');
};

/** Comma-separated IPv4 CIDRs, trimmed, normalised to the network address ("10.1.2.3/16" → "10.1.0.0/16"). */
export function parseIPv4CidrList(raw: string): string[] {
  const out: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(item);
    const bits = m ? Number(m[2]) : -1;
    if (!m || !isIPv4(m[1] as string) || bits > 32) {
      throw new Rejected(
        `a comma-separated list of IPv4 CIDRs such as 10.0.0.0/8,192.168.0.0/16 ("${item}" is not one)`,
      );
    }
    const n = (m[1] as string).split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const net = (n & mask) >>> 0;
    out.push(`${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${bits}`);
  }
  return out;
}

const stringMap = z.record(z.string(), z.string());

/** A JSON object of string values, e.g. ADDITIONAL_ENI_TAGS='{"team":"net"}'. */
export function parseJsonStringMap(raw: string): Record<string, string> {
  const accepted = 'a JSON object whose values are strings, e.g. {"team":"net"}';
  let value: unknown;
  try {
    value = JSON.parse(raw === '' ? '{}' : raw);
  } catch {
    throw new Rejected(accepted);
  }
  const r = stringMap.safeParse(value);
  if (!r.success) throw new Rejected(accepted);
  return r.data;
}

/** `host:port` or `:port` (all interfaces), or `unix:<path>`. */
export function parseListenAddress(raw: string): string {
  if (raw.startsWith('unix:') && raw.length > 'unix:'.length) return raw;
  const m = /^(?:\[[0-9a-fA-F:.]+\]|[^:[\]]*):(\d{1,5})$/.exec(raw);
  if (!m || Number(m[1]) > 65535) throw new Rejected('host:port, :port or unix:<path>');
  return raw;
}
