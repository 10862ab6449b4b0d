import { describe, expect, it } from 'vitest';
import { CniError } from '../src/cni/errors.js';
import { formatResult, parseResult, resultForVersion, type CniResult } from '../src/cni/result.js';
import { SUPPORTED_VERSIONS } from '../src/cni/version.js';

const secondaryEni: CniResult = {
  interfaces: [
    { name: 'enic440f455693' },
    { name: 'eth0', mac: '3', sandbox: '/var/run/netns/cni-1234' },
    { name: 'dummyc440f455693', mac: '0', sandbox: '2' },
  ],
  ips: [{ interface: 1, address: '10.0.1.23/32' }],
};

describe('result per version', () => {
  it('0.4.0 matches the spec example', () => {
    expect(JSON.parse(formatResult(secondaryEni, '0.4.0'))).toEqual({
      cniVersion: '0.4.0',
      interfaces: secondaryEni.interfaces,
      ips: [{ version: '4', interface: 1, address: '10.0.1.23/32' }],
      dns: {},
    });
    expect(Object.keys(resultForVersion(secondaryEni, '0.3.1'))).toEqual([
      'cniVersion',
      'interfaces',
      'ips',
      'dns',
    ]);
  });
  it('1.x drops version fields and empty dns; 4-space indent, no trailing newline', () => {
    const text = formatResult(secondaryEni, '1.1.0');
    expect(text.endsWith('}')).toBe(true);
    expect(text.split('\n')[1]).toBe('    "cniVersion": "1.1.0",');
    expect(JSON.parse(text)).toEqual({
      cniVersion: '1.1.0',
      interfaces: secondaryEni.interfaces,
      ips: [{ interface: 1, address: '10.0.1.23/32' }],
    });
    expect(resultForVersion({ ...secondaryEni, dns: { nameservers: ['10.0.0.2'] } }, '1.0.0')['dns']).toEqual(
      {
        nameservers: ['10.0.0.2'],
      },
    );
  });
  it('0.1.0/0.2.0 keep the first address per family and lose interfaces', () => {
    const v6: CniResult = {
      interfaces: [{ name: 'h' }, { name: 'eth0' }],
      ips: [{ interface: 1, address: '2001:db8::5/128', gateway: 'fe80::1' }],
    };
    expect(resultForVersion(secondaryEni, '0.2.0')).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.0.1.23/32' },
      dns: {},
    });
    expect(resultForVersion(v6, '0.1.0')).toEqual({
      cniVersion: '0.1.0',
      ip6: { ip: '2001:db8::5/128', gateway: 'fe80::1' },
      dns: {},
    });
  });
  it('every version round-trips through parseResult (as far as the version can carry it)', () => {
    const withGw: CniResult = {
      ...secondaryEni,
      ips: [{ interface: 1, address: '10.0.32.57/32', gateway: '10.0.32.1' }],
    };
    for (const v of SUPPORTED_VERSIONS) {
      const back = parseResult(JSON.parse(formatResult(withGw, v)) as Record<string, unknown>, v);
      if (v === '0.1.0' || v === '0.2.0') {
        expect(back.ips).toEqual([{ address: '10.0.32.57/32', gateway: '10.0.32.1' }]);
        expect(back.interfaces).toEqual([]);
      } else {
        expect(back.interfaces).toEqual(withGw.interfaces);
        expect(back.ips).toEqual(withGw.ips);
      }
    }
  });
  it('a missing cniVersion in prevResult comes from the config', () => {
    expect(parseResult({ ip4: { ip: '10.0.0.1/32' } }, '0.2.0').ips).toEqual([{ address: '10.0.0.1/32' }]);
  });
  it.each([
    [{ cniVersion: '1.0.0', interfaces: 'x' }],
    [{ cniVersion: '1.0.0', ips: [{ address: 3 }] }],
    [{ cniVersion: '1.0.0', ips: [{ address: '1.2.3.4/32', interface: -1 }] }],
    [{ cniVersion: '1.0.0', interfaces: [{}] }],
    [{ cniVersion: '0.2.0', ip4: 'x' }],
    [{ cniVersion: '9.9.9' }],
  ])('rejects malformed prevResult %j', (raw) => {
    expect(() => parseResult(raw as Record<string, unknown>, '1.0.0')).toThrow(CniError);
  });
});
