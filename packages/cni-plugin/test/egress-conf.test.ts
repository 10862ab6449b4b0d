// egress-cni's config parser: the conflist the entrypoint writes parses to the expected values; every hostile or
// wrong value is code 7 naming the key, a bounded description of the value and the accepted forms — never a
// stack overflow, a megabyte message or a Node internal text. Seeded fuzz: only CniErrors, bounded messages.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CniError } from '../src/cni/errors.js';
import { describeValue, parseEgressConf } from '../src/egress/conf.js';
import { ipamRange } from '../src/egress/ipam.js';

const base = (o: Record<string, unknown> = {}) => ({
  cniVersion: '0.4.0',
  name: 'aws-cni',
  type: 'egress-cni',
  mtu: '9001',
  enabled: 'true',
  randomizeSNAT: 'prng',
  nodeIP: '10.0.0.5',
  ipam: {
    type: 'host-local',
    ranges: [[{ subnet: '169.254.172.0/22' }]],
    routes: [{ dst: '0.0.0.0/0' }],
    dataDir: '/run/cni/v6pd/egress-v4-ipam',
  },
  pluginLogFile: '/var/log/aws-routed-eni/egress-v4-plugin.log',
  pluginLogLevel: 'Debug',
  ...o,
});
const parse = (o: Record<string, unknown>) => parseEgressConf(JSON.stringify(base(o)));
const err = (f: () => unknown): CniError => {
  try {
    f();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('no error');
};

describe('egress-cni config', () => {
  it('the IPv6-cluster conflist: IPv4 egress, SNAT random-fully, host-local range', () => {
    const c = parse({});
    expect(c).toMatchObject({
      enabled: true,
      family: 4,
      mtu: 9001,
      snat: 'random-fully',
      nodeIP: '10.0.0.5',
    });
    expect(c.ipam).toEqual({
      subnet: '169.254.172.0/22',
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir: '/run/cni/v6pd/egress-v4-ipam',
    });
    const r = ipamRange(c.ipam!);
    expect(r.gateway).toBe('169.254.172.1');
  });

  it('the IPv4-cluster conflist: IPv6 egress from fd00::ac:00/118; hashrandom / none', () => {
    const c = parse({
      nodeIP: '2600:1f14:abc:de01::5',
      randomizeSNAT: 'hashrandom',
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: 'fd00::ac:00/118' }]],
        routes: [{ dst: '::/0' }],
        dataDir: '/x',
      },
    });
    expect(c).toMatchObject({ family: 6, snat: 'hashrandom' });
    expect(ipamRange(c.ipam!).gateway).toBe('fd00::ac:1');
    expect(parse({ randomizeSNAT: 'none' }).snat).toBe('none');
  });

  it('disabled: only enabled === "true" acts; the rest of the config is not examined', () => {
    for (const enabled of ['false', 'TRUE', 'yes', '']) expect(parse({ enabled }).enabled).toBe(false);
    expect(parse({ enabled: 'false', mtu: 'junk', ipam: 5 }).enabled).toBe(false);
  });

  it.each([
    ['mtu', { mtu: 9001 }, /invalid "mtu": the number 9001.*decimal integer from 576 to 9001, as a string/],
    ['mtu', { mtu: '100' }, /invalid "mtu": the string "100"/],
    ['mtu', { mtu: '99999999999999999999' }, /invalid "mtu"/],
    ['enabled', { enabled: true }, /invalid "enabled": the boolean true.*"true" or "false"/],
    ['nodeIP', { nodeIP: 'nohost' }, /invalid "nodeIP": the string "nohost"/],
    ['nodeIP', { nodeIP: ['10.0.0.5'] }, /invalid "nodeIP": an array of 1 element/],
    ['randomizeSNAT', { randomizeSNAT: { a: 1 } }, /invalid "randomizeSNAT": an object/],
    ['ipam.type', { ipam: { type: 'dhcp' } }, /invalid "ipam.type": the string "dhcp".*"host-local"/],
    ['ipam', { ipam: null }, /invalid "ipam": null/],
    [
      'ranges',
      { ipam: { type: 'host-local', ranges: [[{ subnet: 'a' }], [{ subnet: 'b' }]] } },
      /ipam.ranges/,
    ],
    ['subnet family', { ipam: { type: 'host-local', ranges: [[{ subnet: 'fd00::/118' }]] } }, /IPv4 CIDR/],
    ['subnet /32', { ipam: { type: 'host-local', ranges: [[{ subnet: '169.254.172.0/32' }]] } }, /room/],
    ['dataDir', { ipam: { type: 'host-local', subnet: '169.254.172.0/22', dataDir: 'rel' } }, /absolute/],
    [
      'routes',
      { ipam: { type: 'host-local', subnet: '169.254.172.0/22', routes: [{ dst: '::/0' }] } },
      /routes\[0\]\.dst/,
    ],
    [
      'v6 mtu',
      { nodeIP: 'fd00::5', mtu: '1000', ipam: { type: 'host-local', subnet: 'fd00::ac:0/118' } },
      /1280/,
    ],
  ])('%s: code 7 naming key, value and accepted forms', (_k, o, re) => {
    const e = err(() => parse(o));
    expect(e.code).toBe(7);
    expect(`${e.message} ${e.details}`).toMatch(re);
  });

  it('hostile values are described safely: deep nesting, huge strings, huge numbers', () => {
    const deep = `{"cniVersion":"1.0.0","name":"aws-cni","enabled":"true","nodeIP":"10.0.0.5","mtu":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const e1 = err(() => parseEgressConf(deep));
    expect(e1.code).toBe(7);
    expect(e1.message).toMatch(/invalid "mtu": an array of 1 element/);
    const e2 = err(() => parse({ nodeIP: 'x'.repeat(2_000_000) }));
    expect(e2.message.length).toBeLessThan(200);
    expect(e2.message).toMatch(/\(2000000 characters\)/);
    expect(err(() => parse({ mtu: 1e308 })).message).toMatch(/the number 1e\+308/);
    const e3 = err(() => parse({ cniVersion: '9'.repeat(1_000_000) }));
    expect(e3.code).toBe(1);
    expect(e3.details.length).toBeLessThan(200);
    expect(describeValue(undefined)).toBe('undefined');
  });

  it('decode failures are code 6, unsupported versions code 1', () => {
    expect(err(() => parseEgressConf('{')).code).toBe(6);
    expect(err(() => parseEgressConf('[1]')).code).toBe(6);
    expect(err(() => parseEgressConf(JSON.stringify(base({ cniVersion: '9.9.9' })))).code).toBe(1);
  });

  it('fuzz (seeded): any JSON value in any key gives a config or a CniError with a bounded message', () => {
    const keys = [
      'mtu',
      'enabled',
      'nodeIP',
      'randomizeSNAT',
      'ipam',
      'name',
      'cniVersion',
      'prevResult',
      'pluginLogFile',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 6 }), (k, v) => {
        try {
          parse({ [k]: v });
        } catch (e) {
          expect(e).toBeInstanceOf(CniError);
          expect((e as CniError).message.length).toBeLessThan(400);
        }
      }),
      { seed: 1801, numRuns: 1000 },
    );
  });
});
