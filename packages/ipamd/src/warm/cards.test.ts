// Warm pool per network card: card 0 follows the variables, cards > 0 keep one address warm (warm 1 / minimum 1),
// each card's ENI limit from the instance data (p4d.24xlarge: 4 cards × 15 ENIs, 50 IPv4 per ENI).
import { instanceLimits } from '@vpc-cni/shared/limits';
import { describe, expect, it } from 'vitest';
import {
  PoolModel,
  type WarmConfig,
  cardPoolLimits,
  cardWarmConfig,
  isPoolTooHigh,
  isPoolTooLow,
  planIncrease,
  targetState,
} from './index.js';

const P4D = instanceLimits('p4d.24xlarge')!;
const base: WarmConfig = {
  warmEniTarget: 1,
  warmIpTarget: 0,
  minimumIpTarget: 0,
  warmPrefixTarget: 0,
  maxEni: 0,
  prefixDelegation: false,
};

describe('per-card warm config and limits', () => {
  it('card 0 keeps the variables; every other card uses warm 1 / minimum 1 and no ENI or prefix target', () => {
    const cfg = { ...base, warmIpTarget: 5, minimumIpTarget: 10, warmPrefixTarget: 2 };
    expect(cardWarmConfig(0, cfg)).toBe(cfg);
    for (const card of [1, 2, 3])
      expect(cardWarmConfig(card, cfg)).toEqual({
        ...cfg,
        warmEniTarget: 0,
        warmPrefixTarget: 0,
        warmIpTarget: 1,
        minimumIpTarget: 1,
      });
  });

  it("each card's ENI limit is its own (networkCards[].maxEnis), capped by MAX_ENI", () => {
    expect(P4D.networkCards.map((c) => c.maxEnis)).toEqual([15, 15, 15, 15]);
    expect(cardPoolLimits(2, P4D, base)).toEqual({ maxEni: 15, maxIpsPerEni: 49, maxPrefixesPerEni: 0 });
    expect(cardPoolLimits(3, P4D, { ...base, maxEni: 4 }).maxEni).toBe(4);
    expect(cardPoolLimits(1, P4D, { ...base, prefixDelegation: true })).toEqual({
      maxEni: 15,
      maxIpsPerEni: 49 * 16,
      maxPrefixesPerEni: 49,
    });
    expect(() => cardPoolLimits(4, P4D, base)).toThrow(
      "network card 4 is not one of the instance type's cards (0, 1, 2, 3)",
    );
  });
});

describe('per-card warm arithmetic', () => {
  const card1 = cardWarmConfig(1, base);
  const lim = cardPoolLimits(1, P4D, card1);
  const stats = (T: number, A: number) => ({
    totalIPs: T,
    assignedIPs: A,
    totalPrefixes: 0,
    freePrefixes: 0,
  });

  it('an empty card is short by one address, not by a whole ENI (WARM_ENI_TARGET=1 applies to card 0 only)', () => {
    expect(targetState(stats(0, 0), card1)).toEqual({ short: 1, over: 0, defined: true });
    expect(isPoolTooLow(stats(0, 0), card1, lim, 250)).toBe(true);
    expect(planIncrease(stats(0, 0), card1, lim, [], { maxPods: 250 })).toEqual({
      kind: 'new-eni',
      resources: 1,
      unit: 'ip',
    });
    // card 0 with the same variables wants a whole ENI's worth
    const card0 = cardWarmConfig(0, base);
    expect(isPoolTooLow(stats(1, 0), card0, cardPoolLimits(0, P4D, card0), 250)).toBe(true);
    expect(isPoolTooLow(stats(49, 0), card0, cardPoolLimits(0, P4D, card0), 250)).toBe(false);
    expect(isPoolTooLow(stats(1, 0), card1, lim, 250)).toBe(false);
  });

  it('one multi-NIC pod on the card makes it short by one; spare addresses beyond one are given back', () => {
    expect(targetState(stats(1, 1), card1).short).toBe(1);
    expect(isPoolTooHigh(stats(1, 0), card1)).toBe(false);
    expect(targetState(stats(5, 1), card1)).toEqual({ short: 0, over: 3, defined: true });
  });

  it('prefix delegation: a card > 0 is short by one prefix and keeps one prefix, not more', () => {
    const pd = cardWarmConfig(1, { ...base, prefixDelegation: true, warmPrefixTarget: 3 });
    expect(targetState({ totalIPs: 0, assignedIPs: 0, totalPrefixes: 0, freePrefixes: 0 }, pd).short).toBe(1);
    expect(targetState({ totalIPs: 16, assignedIPs: 0, totalPrefixes: 1, freePrefixes: 1 }, pd)).toEqual({
      short: 0,
      over: 0,
      defined: true,
    });
    expect(targetState({ totalIPs: 48, assignedIPs: 0, totalPrefixes: 3, freePrefixes: 3 }, pd).over).toBe(2);
  });

  it('the model converges per card: card 1 follows its multi-NIC pods with exactly one spare address', () => {
    const m = new PoolModel(card1, lim, 250);
    m.enis = []; // a card > 0 starts without an ENI
    for (let i = 0; i < 5; i++) m.step();
    expect(m.stats()).toMatchObject({ totalIPs: 1, assignedIPs: 0 });
    for (let pods = 1; pods <= 60; pods++) {
      expect(m.addPods(1)).toBe(1);
      for (let i = 0; i < 5; i++) m.step();
      expect(m.stats().totalIPs - m.stats().assignedIPs).toBe(1);
    }
    // 61 addresses: two ENIs of 49 usable each on card 1
    expect(m.enis.length).toBe(2);
    m.removePods(60);
    for (let i = 0; i < 5; i++) m.step();
    expect(m.stats()).toMatchObject({ totalIPs: 1, assignedIPs: 0 });
  });
});
