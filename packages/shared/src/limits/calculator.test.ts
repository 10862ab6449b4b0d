import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  calculateMaxPods,
  CalculatorError,
  cpuClass,
  instanceLimits,
  type InstanceLimits,
  knownInstanceTypes,
  parseCniVersion,
  prefixDelegationSupported,
} from './index.js';

// Upstream's published max pods (secondary-IP mode, no ceiling), one line per instance type.
const published = new Map(
  readFileSync(fileURLToPath(new URL('../../data/eni-max-pods.txt', import.meta.url)), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.trim().split(/\s+/) as [string, string])
    .map(([t, n]) => [t, Number(n)]),
);

const limitsOf = (t: string): InstanceLimits => instanceLimits(t) as InstanceLimits;

/** The script's arithmetic written out again, independently of calculator.ts. */
function formula(
  l: InstanceLimits,
  o: { cn: boolean; pd: boolean; maxEni?: number; version: string },
): number {
  const enis = Math.min(l.enis, o.maxEni ?? Infinity) - (o.cn ? 1 : 0);
  const [maj, min] = o.version.split('.').map(Number) as [number, number];
  const pdOk = o.pd && l.hypervisor === 'nitro' && (maj > 1 || (maj === 1 && min >= 9));
  return pdOk ? enis * ((l.ipv4PerEni - 1) * 16) + 2 : enis * (l.ipv4PerEni - 1) + 2;
}

describe('max-pods calculator', () => {
  const types = knownInstanceTypes();

  it('--show-max-allowed equals the published eni-max-pods.txt value on every instance type', () => {
    expect(types.length).toBe(published.size);
    for (const t of types) {
      const got = calculateMaxPods(limitsOf(t), {
        instanceType: t,
        cniVersion: '1.18.0',
        customNetworking: false,
        prefixDelegation: false,
        showMaxAllowed: true,
      });
      expect(got, t).toBe(published.get(t));
    }
  });

  it('matches the formula on every instance type, mode, CNI version and --cni-max-eni', () => {
    let checked = 0;
    const wrong: string[] = [];
    for (const t of types) {
      const l = limitsOf(t);
      const cls = cpuClass(t);
      for (const cn of [false, true])
        for (const pd of [false, true])
          for (const version of ['1.8.0', '1.9.0'])
            for (const maxEni of [undefined, 1, 100]) {
              const input = {
                instanceType: t,
                cniVersion: version,
                customNetworking: cn,
                prefixDelegation: pd,
                ...(maxEni !== undefined ? { maxEni } : {}),
              };
              const max = formula(l, { cn, pd, version, ...(maxEni !== undefined ? { maxEni } : {}) });
              expect(calculateMaxPods(l, { ...input, showMaxAllowed: true }), t).toBe(max);
              if (cls === 'unknown') {
                expect(() => calculateMaxPods(l, { ...input, showMaxAllowed: false })).toThrow(
                  CalculatorError,
                );
              } else {
                const ceiling = cls === 'over-30' ? 250 : 110;
                expect(calculateMaxPods(l, { ...input, showMaxAllowed: false }), t).toBe(
                  Math.min(max, ceiling),
                );
              }
              checked++;
            }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBe(types.length * 24);
  });

  it("upstream's documented examples", () => {
    const run = (t: string, version: string, pd = false, cn = false) =>
      calculateMaxPods(limitsOf(t), {
        instanceType: t,
        cniVersion: version,
        customNetworking: cn,
        prefixDelegation: pd,
        showMaxAllowed: false,
      });
    expect(run('m5.large', '1.9.0')).toBe(29);
    expect(run('m5.large', '1.9.0', true)).toBe(110);
    expect(run('m5.4xlarge', '1.7.1')).toBe(110); // 234 capped: 16 vCPUs
    expect(run('m5.8xlarge', '1.7.1')).toBe(234); // 32 vCPUs: ceiling 250
    expect(run('m5.24xlarge', '1.9.0', true)).toBe(250);
    expect(run('m5.large', '1.8.0', true)).toBe(29); // prefix delegation needs CNI >= 1.9
    expect(run('m5.large', '1.9.0', false, true)).toBe(20);
  });

  it('vCPU class from the size name, metal from its family, the misleading names listed', () => {
    expect(cpuClass('m5.large')).toBe('up-to-30');
    expect(cpuClass('m5.4xlarge')).toBe('up-to-30');
    expect(cpuClass('m5.8xlarge')).toBe('over-30');
    expect(cpuClass('m5.metal')).toBe('over-30');
    expect(cpuClass('a1.metal')).toBe('up-to-30'); // a1.4xlarge: 16 vCPUs
    expect(cpuClass('c7i.metal-24xl')).toBe('over-30');
    expect(cpuClass('hs1.8xlarge')).toBe('up-to-30');
    expect(cpuClass('mac1.metal')).toBe('up-to-30');
    expect(cpuClass('u-12tb1.metal')).toBe('over-30');
    expect(cpuClass('bmn-sf1.metal')).toBe('unknown');
    const unknown = types.filter((t) => cpuClass(t) === 'unknown');
    expect(unknown.sort()).toEqual(['bmn-sf1.metal', 'mac-m3ultra.metal']);
  });

  it('CNI versions as written by EKS', () => {
    expect(parseCniVersion('v1.12.6-eksbuild.2')).toEqual([1, 12]);
    expect(prefixDelegationSupported('1.8.9')).toBe(false);
    expect(prefixDelegationSupported('1.10')).toBe(true);
    expect(() => parseCniVersion('latest')).toThrow(/--cni-version "latest"/);
  });
});
