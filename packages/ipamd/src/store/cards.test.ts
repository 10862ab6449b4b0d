import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CardStores, Datastore, DatastoreError, type IpamKey } from './index.js';

const key = (c: string): IpamKey => ({ networkName: 'aws-cni', containerID: c, ifName: 'eth0' });
const meta = (name: string) => ({ k8sPodNamespace: 'default', k8sPodName: name });

/** Card c: one ENI at device 0 (primary on card 0), `free[c]` secondary IPs in 10.<c>.0.0/24. */
function cards(free: readonly number[]): CardStores {
  const m = new Map<number, Datastore>();
  free.forEach((n, card) => {
    const ds = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 30_000, nowMs: () => 0 });
    const eni = `eni-card${card}`;
    ds.addEni({
      id: eni,
      deviceNumber: 0,
      isPrimary: card === 0,
      routeTableId: card === 0 ? 254 : 10000 + 100 * card,
    });
    for (let i = 0; i < n; i++) ds.addCidr(eni, `10.${card}.0.${10 + i}/32`, false);
    m.set(card, ds);
  });
  return new CardStores(m);
}

const assignedPerCard = (s: CardStores) => s.cards().map((c) => s.card(c).stats().assignedIPs);

describe('CardStores: one address per managed card, all or nothing', () => {
  it('a multi-NIC pod gets one address on each card, with its card, device and route table', () => {
    const s = cards([2, 2, 2]);
    const got = s.assignAll(key('c1'), meta('p1'));
    expect(got.map((a) => [a.card, a.address, a.eniId, a.routeTableId])).toEqual([
      [0, '10.0.0.10', 'eni-card0', 254],
      [1, '10.1.0.10', 'eni-card1', 10100],
      [2, '10.2.0.10', 'eni-card2', 10200],
    ]);
    // interfacesCount is the number of cards, as the checkpoint stores it
    const alloc = s.card(2).allocations()[0]!.allocation;
    expect(alloc.metadata).toEqual({ k8sPodNamespace: 'default', k8sPodName: 'p1', interfacesCount: 3 });
    // a repeated ADD returns the same addresses and takes nothing more
    expect(s.assignAll(key('c1'), meta('p1')).map((a) => a.address)).toEqual(got.map((a) => a.address));
    expect(assignedPerCard(s)).toEqual([1, 1, 1]);
  });

  for (const failing of [0, 1, 2])
    it(`card ${failing} has no free address: the pod gets nothing, no card keeps an address`, () => {
      const free = [1, 1, 1];
      free[failing] = 0;
      const s = cards(free);
      let thrown: unknown;
      try {
        s.assignAll(key('c1'), meta('p1'));
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(DatastoreError);
      expect((thrown as DatastoreError).kind).toBe('no-available');
      expect((thrown as Error).message).toBe(
        `network card ${failing}: AssignPodIPAddress: no available IP/Prefix addresses`,
      );
      expect(assignedPerCard(s)).toEqual([0, 0, 0]);
      expect(s.lookupAll(key('c1'))).toEqual([]);
      // the addresses that were rolled back are handed out again at once (no cooldown: never handed out)
      const other = cards([1, 1, 1]);
      expect(other.assignAll(key('c2'), meta('p2'))).toHaveLength(3);
      free[failing] = 1;
      s.card(failing).addCidr(`eni-card${failing}`, `10.${failing}.0.10/32`, false);
      expect(s.assignAll(key('c1'), meta('p1')).map((a) => a.address)).toEqual([
        '10.0.0.10',
        '10.1.0.10',
        '10.2.0.10',
      ]);
    });

  for (const failing of [0, 1, 2])
    it(`card ${failing} refuses with another error (quarantined key): rolled back, error kept`, () => {
      const s = cards([1, 1, 1]);
      // an allocation of the same key quarantined on card `failing` (its address is on no ENI of that card)
      s.card(failing).restore([
        {
          key: key('c1'),
          address: '10.99.0.1',
          family: 4,
          metadata: { ...meta('p1'), interfacesCount: 3 },
          assignedAtNs: 1n,
        },
      ]);
      expect(() => s.assignAll(key('c1'), meta('p1'))).toThrow(
        new RegExp(`^network card ${failing}: allocation for container c1 is quarantined`),
      );
      expect(assignedPerCard(s)).toEqual([0, 0, 0]);
    });

  it('a failure keeps what the key held before the call (a repeated ADD after a partial restore)', () => {
    const s = cards([1, 1, 0]);
    s.card(0).assign(key('c1'), { ...meta('p1'), interfacesCount: 3 });
    expect(() => s.assignAll(key('c1'), meta('p1'))).toThrow(/network card 2/);
    expect(s.lookupAll(key('c1')).map((a) => a.card)).toEqual([0]);
    expect(assignedPerCard(s)).toEqual([1, 0, 0]);
  });

  it('DEL releases every card, a second DEL finds nothing, and undo puts everything back', () => {
    const s = cards([1, 1, 1]);
    s.assignAll(key('c1'), meta('p1'));
    const released = s.unassignAll(key('c1'));
    expect(released.map((r) => [r.card, r.address])).toEqual([
      [0, '10.0.0.10'],
      [1, '10.1.0.10'],
      [2, '10.2.0.10'],
    ]);
    expect(assignedPerCard(s)).toEqual([0, 0, 0]);
    expect(s.unassignAll(key('c1'))).toEqual([]);
    s.undoUnassignAll(released);
    expect(s.lookupAll(key('c1')).map((a) => a.address)).toEqual(['10.0.0.10', '10.1.0.10', '10.2.0.10']);
    s.undoAssignAll(key('c1'));
    expect(assignedPerCard(s)).toEqual([0, 0, 0]);
  });

  it('ordinary pods use card 0 alone; the other cards keep their addresses for multi-NIC pods', () => {
    const s = cards([2, 1]);
    s.card(0).assign(key('ordinary'), { ...meta('o'), interfacesCount: 1 });
    expect(s.assignAll(key('multi'), meta('m')).map((a) => a.card)).toEqual([0, 1]);
    expect(assignedPerCard(s)).toEqual([2, 1]);
  });

  it('needs card 0 and names an unmanaged card', () => {
    expect(() => new CardStores(new Map())).toThrow('network card 0 needs a datastore');
    expect(() => cards([1]).card(3)).toThrow('network card 3 is not managed on this node');
  });

  it('property: after any sequence of multi-NIC ADDs and DELs every card holds exactly the live pods', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 4 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 5 })), { maxLength: 30 }),
        (free, ops) => {
          const s = cards(free);
          const live = new Set<number>();
          for (const [add, pod] of ops) {
            if (add) {
              try {
                s.assignAll(key(`c${pod}`), meta(`p${pod}`));
                live.add(pod);
              } catch (e) {
                expect(e).toBeInstanceOf(DatastoreError);
              }
            } else {
              s.unassignAll(key(`c${pod}`));
              live.delete(pod);
            }
            for (const c of s.cards()) expect(s.card(c).stats().assignedIPs).toBe(live.size);
          }
        },
      ),
    );
  });
});
