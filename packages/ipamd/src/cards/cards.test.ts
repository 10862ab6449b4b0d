import { describe, expect, it } from 'vitest';
import {
  type CardFacts,
  classifyCards,
  managedCardIndexes,
  multiNicRefusal,
  routeTableForEni,
} from './index.js';

const dev = (eniId: string, kind: 'interface' | 'efa' | 'efa-only', managed = true) => ({
  eniId,
  kind,
  managed,
});

describe('classifyCards: which network cards ipamd manages', () => {
  const devices: CardFacts[] = [
    { index: 0, devices: [dev('eni-primary', 'interface')] },
    { index: 1, devices: [dev('eni-efa', 'efa')] },
    { index: 2, devices: [dev('eni-efaonly', 'efa-only')] },
    { index: 3, devices: [dev('eni-efaonly3', 'efa-only'), dev('eni-ena3', 'interface')] },
    { index: 4, devices: [dev('eni-efaonly4', 'efa-only'), dev('eni-ena4', 'interface', false)] },
    { index: 5, devices: [dev('eni-ena5', 'interface')] },
  ];

  it('ENABLE_MULTI_NIC=false: card 0 only', () => {
    const d = classifyCards([0, 1, 2, 3, 4, 5, 6], devices, false);
    expect(managedCardIndexes(d)).toEqual([0]);
    expect(d[1]).toEqual({ index: 1, managed: false, why: 'ENABLE_MULTI_NIC is false' });
  });

  it('ENABLE_MULTI_NIC=true: no device, ena, efa, or efa-only beside a managed ena; not efa-only alone', () => {
    const d = classifyCards([6, 5, 4, 3, 2, 1, 0], devices, true);
    expect(d.map((c) => [c.index, c.managed])).toEqual([
      [0, true],
      [1, true],
      [2, false],
      [3, true],
      [4, false], // its ENA interface is not ours (no_manage): the card is the EFA workload's
      [5, true],
      [6, true], // no device yet: ipamd attaches one
    ]);
    expect(d[2]!.why).toBe('it holds the EFA-only interface eni-efaonly and no managed ENA interface');
    expect(d[3]!.why).toBe('EFA-only eni-efaonly3 shares it with managed eni-ena3');
  });

  it('card 0 is managed even when it holds only an EFA-only device', () => {
    const d = classifyCards([0, 1], [{ index: 0, devices: [dev('x', 'efa-only')] }], true);
    expect(managedCardIndexes(d)).toEqual([0, 1]);
  });
});

describe('routeTableForEni: card numbering', () => {
  const eni = (card: number, deviceNumber: number, isPrimary = false) => ({
    card,
    deviceNumber,
    isPrimary,
    primaryIp: '10.1.0.5',
  });

  it('card 0: main for the primary ENI, device + 1 otherwise', () => {
    expect(routeTableForEni(eni(0, 0, true), [], 4)).toEqual({ table: 254, ruleExists: false });
    expect(routeTableForEni(eni(0, 2), [{ from: '10.1.0.5', table: 77 }], 4)).toEqual({
      table: 3,
      ruleExists: false,
    });
  });

  it('card c > 0: 10000 + 100·c + device', () => {
    expect(routeTableForEni(eni(1, 0), [], 4)).toEqual({ table: 10100, ruleExists: false });
    expect(routeTableForEni(eni(3, 2), [{ from: '10.9.9.9/32', table: 5 }], 4)).toEqual({
      table: 10302,
      ruleExists: false,
    });
  });

  it('an existing rule for the ENI address is reused; of several, the legacy table wins', () => {
    expect(routeTableForEni(eni(1, 1), [{ from: '10.1.0.5/32', table: 42 }], 4)).toEqual({
      table: 42,
      ruleExists: true,
    });
    // legacy = device + 1 + card·maxENI = 1 + 1 + 4
    const two = [
      { from: '10.1.0.5', table: 42 },
      { from: '10.1.0.5', table: 6 },
    ];
    expect(routeTableForEni(eni(1, 1), two, 4)).toEqual({ table: 6, ruleExists: true });
    expect(routeTableForEni(eni(1, 1), two, 8)).toEqual({ table: 10101, ruleExists: true });
  });
});

describe('multiNicRefusal', () => {
  it('names the cause and the remedy', () => {
    expect(
      multiNicRefusal({ enabled: false, instanceType: 'p5.48xlarge', typeCards: 32, managedCards: [0] }),
    ).toBe(
      'the pod asks for one interface per network card (k8s.amazonaws.com/nicConfig: multi-nic-attachment), but ENABLE_MULTI_NIC is false on this node: set ENABLE_MULTI_NIC=true on aws-node, or remove the annotation',
    );
    expect(
      multiNicRefusal({ enabled: true, instanceType: 'm5.large', typeCards: 1, managedCards: [0] }),
    ).toMatch(/instance type m5.large has a single network card: schedule the pod on a multi-card type/);
    expect(
      multiNicRefusal({ enabled: true, instanceType: 'p5.48xlarge', typeCards: 32, managedCards: [0] }),
    ).toMatch(/only network card 0 of p5.48xlarge is managed/);
    expect(
      multiNicRefusal({ enabled: true, instanceType: 'p5.48xlarge', typeCards: 32, managedCards: [0, 1] }),
    ).toBeUndefined();
    expect(
      multiNicRefusal({
        enabled: true,
        instanceType: 'p5.48xlarge',
        typeCards: 32,
        managedCards: [0],
        unmanagedWhy: 'card 1: it holds the EFA-only interface eni-1 and no managed ENA interface',
      }),
    ).toMatch(
      /only network card 0 of p5.48xlarge is managed \(card 1: it holds the EFA-only interface eni-1 and no managed ENA interface\), or remove/,
    );
  });
});
