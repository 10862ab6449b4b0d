// Hostile and unlucky values for the fuzzer: config fields, CNI variables and prevResults bent out of shape.
import type { Rng } from './rng.js';

/** JSON text spliced into stdin as is: values nested deeper than JSON.stringify itself could write. */
export class RawJson {
  constructor(readonly text: string) {}
}

const nested = (depth: number, open: string, close: string, inner = '') =>
  new RawJson(open.repeat(depth) + inner + close.repeat(depth));

/** The stdin text of a config that may hold RawJson values. */
export function toStdin(c: Record<string, unknown>): string {
  const raws: string[] = [];
  const text = JSON.stringify(c, (_k, v: unknown) => {
    if (!(v instanceof RawJson)) return v;
    raws.push(v.text);
    return `\u0000RAW${raws.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000RAW(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)] ?? 'null');
}

/** Any JSON value, leaning towards the shapes that broke parsers before. */
export function hostileValue(r: Rng): unknown {
  return r.weighted<() => unknown>([
    [3, () => nested(r.pick([2, 50, 5_000, 20_000]), '[', ']')],
    [2, () => nested(r.pick([3, 5_000]), '{"a":', '}', '1')],
    [2, () => r.pick([0, -1, 1.5, 2 ** 31, 2 ** 53, 1e308, -1e308, 65_536, 99_999])],
    [2, () => r.pick(['', ' ', 'x'.repeat(r.pick([16, 70_000])), '\u0000', 'é😀', '../../etc', '%00'])],
    [1, () => r.pick([true, false, null])],
    [1, () => ({ toString: 'x', valueOf: 1, __proto__: { a: 1 } })],
    [1, () => Array.from({ length: r.pick([3, 10_000]) }, (_, i) => i)],
  ])();
}

/** Config keys worth bending (never pluginLogFile: the plugin creates that file's directory). */
export const CONFIG_KEYS = [
  'cniVersion',
  'name',
  'type',
  'vethPrefix',
  'mtu',
  'podSGEnforcingMode',
  'pluginLogLevel',
  'ipamdEndpoint',
  'ipamdTimeoutMs',
  'runtimeConfig',
  'prevResult',
] as const;

/** Plausible-but-wrong values per key (the hostile generic ones come from hostileValue). */
export function wrongValue(r: Rng, key: (typeof CONFIG_KEYS)[number]): unknown {
  switch (key) {
    case 'cniVersion':
      return r.pick(['0.0.1', '2.0.0', '1.0', 'v1.0.0', '']);
    case 'name':
      return r.pick(['', 'a b', 'x'.repeat(300), 'net/../x']);
    case 'type':
      return r.pick(['', 'bridge']);
    case 'vethPrefix':
      return r.pick(['', 'abcde', 'a/b', 'eth', 'lo']);
    case 'mtu':
      return r.pick(['', 'abc', '0', '575', '9002', '-1', ' 1500 ', '1e3']);
    case 'podSGEnforcingMode':
      return r.pick(['', 'STRICT', 'loose']);
    case 'pluginLogLevel':
      return r.pick(['', 'trace', 'DEBUG']);
    case 'ipamdEndpoint':
      return r.pick([
        'nohost',
        '127.0.0.1:99999',
        'localhost:0',
        'unix://rel',
        'unix:',
        ':1',
        '[::1]:',
        '/tmp/' + 'x'.repeat(200),
      ]);
    case 'ipamdTimeoutMs':
      return r.pick([2147483648, 2 ** 40, 0, -1, 0.5, NaN, '1000']);
    case 'runtimeConfig':
      return r.pick([
        [],
        'x',
        { 'io.kubernetes.cri.pod-annotations': [] },
        { 'io.kubernetes.cri.pod-annotations': { a: 1 } },
      ]);
    case 'prevResult':
      return r.pick([[], 'x', 1, { cniVersion: '9.9.9' }, { interfaces: 'x' }, { ips: [{ address: 7 }] }]);
  }
}

/** A prevResult bent from a real one: repeated, truncated, retyped or pointing at other addresses. */
export function bendPrevResult(r: Rng, prev: Record<string, unknown>): Record<string, unknown> {
  const p = JSON.parse(JSON.stringify(prev)) as {
    interfaces?: unknown[];
    ips?: unknown[];
    [k: string]: unknown;
  };
  const ifs = p.interfaces ?? [];
  const ips = p.ips ?? [];
  switch (r.int(0, 8)) {
    case 0: // the pod's own entries repeated many times (once made DEL quadratic)
      p.interfaces = Array.from({ length: r.pick([100, 20_000]) }, () => ifs).flat();
      return p;
    case 1:
      p.ips = ips.map((ip) => ({
        ...(ip as object),
        address: r.pick(['10.77.0.10/32', '::1/128', 'nonsense', '1.2.3.4']),
      }));
      return p;
    case 2:
      p.interfaces = ifs.map((i) => ({
        ...(i as object),
        mac: r.pick(['-1', '4294967296', 'x', '1e3', '7']),
      }));
      return p;
    case 3:
      p.interfaces = ifs.map((i) => ({ ...(i as object), sandbox: r.pick(['', '-1', 'x', '99999999999']) }));
      return p;
    case 4:
      p.ips = ips.map((ip) => ({ ...(ip as object), interface: r.pick([-1, 99, 1.5, '1', null]) }));
      return p;
    case 5:
      p.interfaces = ifs.slice(0, r.int(0, ifs.length));
      return p;
    case 6:
      p.cniVersion = r.pick(['0.2.0', '0.3.1', '0.4.0', '1.1.0', 'x']);
      return p;
    case 7:
      p[r.pick(['interfaces', 'ips', 'routes', 'dns'])] = hostileValue(r);
      return p;
    default:
      p.interfaces = ifs.map((i) => ({ ...(i as object), name: r.pick(['eth0', '', 'x'.repeat(100)]) }));
      return p;
  }
}

/** CNI variables bent: unknown commands, odd ids and names, CNI_ARGS that are not K=V;K=V. */
export function bendEnv(r: Rng, env: Record<string, string>): Record<string, string> {
  const e = { ...env };
  switch (r.int(0, 6)) {
    case 0:
      e['CNI_COMMAND'] = r.pick(['add', 'FOO', 'DELETE', 'x'.repeat(5_000)]);
      break;
    case 1:
      delete e[r.pick(['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'])];
      break;
    case 2:
      e['CNI_CONTAINERID'] = r.pick(['a b', '-x', 'é', 'c'.repeat(r.pick([300, 100_000]))]);
      break;
    case 3:
      e['CNI_IFNAME'] = r.pick(['', 'x'.repeat(16), 'a/b', '.', 'eth 0']);
      break;
    case 4:
      e['CNI_ARGS'] = r.pick([
        'a',
        'a=b=c',
        'IgnoreUnknown=maybe',
        ';;;',
        'K8S_POD_NAME=' + 'p'.repeat(70_000),
        'x=1;'.repeat(5_000),
      ]);
      break;
    case 5:
      e['CNI_NETNS'] = r.pick(['/nonexistent/netns', 'relative', '/proc/1/ns/nonet']);
      break;
    default:
      e['CNI_PATH'] = '';
      break;
  }
  return e;
}
