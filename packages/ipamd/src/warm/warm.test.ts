// Upstream's worked examples ( m5.large: 3 ENIs × 10 IPv4 → 9 usable per ENI, max pods 29), replayed
// step by step with upstream's numbers, and property tests of limits and convergence.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PoolModel,
  type WarmConfig,
  decreaseCount,
  deletableEni,
  planIncrease,
  poolLimits,
  targetState,
} from './index.js';

const M5_LARGE = { enis: 3, ipv4PerEni: 10 };
const base: WarmConfig = {
  warmEniTarget: 1,
  warmIpTarget: 0,
  minimumIpTarget: 0,
  warmPrefixTarget: 0,
  maxEni: 0,
  prefixDelegation: false,
};
const model = (cfg: Partial<WarmConfig>, maxPods = 29) => {
  const c = { ...base, ...cfg };
  return new PoolModel(c, poolLimits(M5_LARGE, c), maxPods);
};
const T = (m: PoolModel) => m.stats().totalIPs;

describe('limits', () => {
  it('m5.large: 9 IPs per ENI in SIP, 9 prefixes = 144 IPs in PD; MAX_ENI caps', () => {
    expect(poolLimits(M5_LARGE, base)).toEqual({ maxEni: 3, maxIpsPerEni: 9, maxPrefixesPerEni: 0 });
    expect(poolLimits(M5_LARGE, { ...base, prefixDelegation: true })).toEqual({
      maxEni: 3,
      maxIpsPerEni: 144,
      maxPrefixesPerEni: 9,
    });
    expect(poolLimits(M5_LARGE, { ...base, maxEni: 2 }).maxEni).toBe(2);
    expect(poolLimits(M5_LARGE, { ...base, maxEni: 7 }).maxEni).toBe(3);
  });
});

describe('worked examples', () => {
  it('A: WARM_IP_TARGET=5, MINIMUM_IP_TARGET=10, SIP', () => {
    const m = model({ warmEniTarget: 0, warmIpTarget: 5, minimumIpTarget: 10 });
    m.step(); // pre-scaling: short = max(5, 10) = 10 → 9 IPs on the primary
    expect(m.last).toEqual({ kind: 'assign', eniId: 'eni-0', count: 9, unit: 'ip' });
    expect(T(m)).toBe(9);
    m.step(); // short 1, primary full → new ENI with 1 IP
    expect(m.last).toEqual({ kind: 'new-eni', resources: 1, unit: 'ip' });
    expect(T(m)).toBe(10);
    const before = m.snapshot();
    m.step();
    expect(m.snapshot()).toBe(before); // stable
    m.addPods(3);
    m.step();
    expect(m.snapshot()).toBe(before.replace('"assigned":0', '"assigned":3'));
    expect(targetState(m.stats(), m.cfg)).toEqual({ short: 0, over: 0, defined: true });
    expect(deletableEni(m.views(), m.cfg)).toBeUndefined(); // the second ENI is needed for the minimum
    m.addPods(5); // 8 pods: avail 2 → short 3 → 3 more on the second ENI
    m.step();
    expect(m.last).toEqual({ kind: 'assign', eniId: 'eni-1', count: 3, unit: 'ip' });
    expect(T(m)).toBe(13);
  });

  it('B: defaults (WARM_ENI_TARGET=1), SIP, 3 pods then 0', () => {
    const m = model({});
    m.step();
    expect(T(m)).toBe(9);
    m.step();
    expect(T(m)).toBe(9); // 9 < 9 is false: stable, one ENI
    m.addPods(3);
    m.step(); // avail 6 < 9 → new ENI with 9
    expect(m.last).toEqual({ kind: 'new-eni', resources: 9, unit: 'ip' });
    expect([T(m), m.enis.length]).toEqual([18, 2]);
    m.step(); // 15 ≥ 18? no: stable
    expect(m.enis.length).toBe(2);
    m.removePods(3);
    m.step(); // 18 ≥ 18 → the empty non-primary ENI goes
    expect([T(m), m.enis.map((e) => e.id)]).toEqual([9, ['eni-0']]);
  });

  it('C: WARM_IP_TARGET=5, MINIMUM_IP_TARGET=10, 20 pods on 3 full ENIs: give back 2 addresses', () => {
    const s = { totalIPs: 27, assignedIPs: 20, totalPrefixes: 0, freePrefixes: 0 };
    const cfg = { ...base, warmEniTarget: 0, warmIpTarget: 5, minimumIpTarget: 10 };
    expect(targetState(s, cfg)).toEqual({ short: 0, over: 2, defined: true });
    expect(decreaseCount(s, cfg)).toBe(2);
  });

  it('D: PD, WARM_PREFIX_TARGET=1: 0 → 5 → 16 → 17 pods', () => {
    const m = model({ warmEniTarget: 0, prefixDelegation: true, warmPrefixTarget: 1 }, 110);
    const prefixes = () => m.stats().totalPrefixes;
    m.step();
    expect(prefixes()).toBe(1);
    m.step();
    expect(prefixes()).toBe(1); // F=1 > 1 is false: stable
    m.addPods(5);
    m.step();
    expect(prefixes()).toBe(2);
    m.addPods(11); // 16 pods
    m.step();
    expect(prefixes()).toBe(2);
    m.addPods(1); // 17 pods
    m.step();
    expect(prefixes()).toBe(3);
  });

  it('E: PD, WARM_IP_TARGET=5, MINIMUM_IP_TARGET=10, 3 pods: one /28, stable', () => {
    const m = model({ warmEniTarget: 0, prefixDelegation: true, warmIpTarget: 5, minimumIpTarget: 10 }, 110);
    m.step();
    expect(m.last).toEqual({ kind: 'assign', eniId: 'eni-0', count: 1, unit: 'prefix' });
    m.addPods(3);
    const s = m.stats();
    expect(targetState(s, m.cfg)).toEqual({ short: 0, over: 0, defined: true });
    m.step();
    expect(m.stats().totalPrefixes).toBe(1);
  });
});

describe('refusals say why', () => {
  it('max pods and ENI slots', () => {
    const cfg = { ...base };
    const limits = poolLimits(M5_LARGE, cfg);
    const full = (id: string, primary: boolean) => ({
      id,
      isPrimary: primary,
      isTrunk: false,
      isEfa: false,
      excluded: false,
      ageMs: 0,
      cidrCount: 9,
      sizeIps: 9,
      assignedIps: 9,
      coolingIps: 0,
      unassignedCidrs: 0,
    });
    const enis = [full('a', true), full('b', false), full('c', false)];
    const s = { totalIPs: 27, assignedIPs: 27, totalPrefixes: 0, freePrefixes: 0 };
    expect(planIncrease(s, cfg, limits, enis, { maxPods: 29 })).toEqual({
      kind: 'none',
      reason: 'no ENI slots left (3/3 ENIs, all full)',
    });
    expect(planIncrease({ ...s, totalIPs: 29 }, cfg, limits, enis, { maxPods: 29 })).toEqual({
      kind: 'none',
      reason: 'max pods reached (29)',
    });
    // Security groups for pods without a trunk yet: the last slot is kept for it, and the reason says so.
    const two = enis.slice(0, 2);
    const s2 = { ...s, totalIPs: 18, assignedIPs: 18 };
    expect(planIncrease(s2, cfg, limits, two, { maxPods: 29 })).toMatchObject({ kind: 'new-eni' });
    expect(planIncrease(s2, cfg, limits, two, { maxPods: 29, reserveForTrunk: true })).toEqual({
      kind: 'none',
      reason:
        'no ENI slots left (2/3 ENIs, all full; one slot is kept for the trunk ENI of security groups for pods)',
    });
  });
});

describe('properties', () => {
  const cfgArb = fc.record({
    warmEniTarget: fc.integer({ min: 0, max: 3 }),
    warmIpTarget: fc.integer({ min: 0, max: 20 }),
    minimumIpTarget: fc.integer({ min: 0, max: 30 }),
    warmPrefixTarget: fc.integer({ min: 0, max: 3 }),
    maxEni: fc.integer({ min: 0, max: 4 }),
    prefixDelegation: fc.boolean(),
  });
  const typeArb = fc.record({
    enis: fc.integer({ min: 2, max: 8 }),
    ipv4PerEni: fc.integer({ min: 3, max: 30 }),
  });

  it('never exceeds instance limits, stops growing at max pods, and settles at a fixed point', () => {
    fc.assert(
      fc.property(
        cfgArb,
        typeArb,
        fc.integer({ min: 0, max: 250 }),
        fc.integer({ min: 4, max: 250 }),
        (cfg, type, pods, maxPods) => {
          const limits = poolLimits(type, cfg);
          const m = new PoolModel(cfg, limits, maxPods);
          const perEni = cfg.prefixDelegation ? limits.maxPrefixesPerEni : limits.maxIpsPerEni;
          let placed = 0;
          const history: string[] = [];
          // WARM_IP_TARGET=1 grows one address per step while pods keep taking them: allow maxPods steps and then some.
          for (let i = 0; i < maxPods + 30; i++) {
            m.step();
            placed += m.addPods(Math.min(pods, maxPods) - placed);
            expect(m.enis.length).toBeLessThanOrEqual(limits.maxEni);
            for (const e of m.enis) expect(e.cidrs).toBeLessThanOrEqual(perEni);
            // Growth stops once the pool reaches max pods; one step adds at most one ENI's worth.
            expect(m.stats().totalIPs).toBeLessThan(maxPods + limits.maxIpsPerEni);
            history.push(m.snapshot());
          }
          const tail = history.slice(-3);
          expect(
            new Set(tail).size,
            `no fixed point for ${JSON.stringify({ cfg, type, pods, maxPods })}`,
          ).toBe(1);
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000); // many simulated pools: slow on a loaded 2-core machine
});
