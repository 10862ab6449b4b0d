// Properties over random operation sequences on the world: no address is ever held twice in a subnet (single
// addresses and /28 prefixes alike), reserved addresses are never handed out, the available count matches what is
// held, per-type limits hold, failed calls change nothing, and detach/delete behave as EC2 does.
import fc from 'fast-check';
import { instanceLimits } from '@vpc-cni/shared/limits';
import { cidrContains, ipToBigint, parseCidr } from '@vpc-cni/shared/ipmath';
import { describe, expect, it } from 'vitest';
import { Ec2Error } from './errors.js';
import { attachEni, deleteEni, detachEni, launchInstance } from './ops-attach.js';
import { assignIpv4, createEni, unassignIpv4 } from './ops-eni.js';
import { World } from './world.js';

const SUBNETS = [
  { id: 'subnet-0000000000000000a', cidr: '10.1.0.0/26', az: 'us-west-2a' },
  { id: 'subnet-0000000000000000b', cidr: '10.1.1.0/27', az: 'us-west-2a' },
];

type Op =
  | { k: 'create'; s: number; n: number; p: number }
  | { k: 'attach'; e: number; d: number }
  | { k: 'detach'; e: number }
  | { k: 'delete'; e: number }
  | { k: 'assign'; e: number; n: number }
  | { k: 'prefix'; e: number; n: number }
  | { k: 'unassign'; e: number; n: number }
  | { k: 'unprefix'; e: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ k: fc.constant('create' as const), s: fc.nat(1), n: fc.nat(6), p: fc.nat(2) }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      k: fc.constant('attach' as const),
      e: fc.nat(20),
      d: fc.integer({ min: 1, max: 4 }),
    }),
    weight: 4,
  },
  fc.record({ k: fc.constant('detach' as const), e: fc.nat(20) }),
  fc.record({ k: fc.constant('delete' as const), e: fc.nat(20) }),
  fc.record({ k: fc.constant('assign' as const), e: fc.nat(20), n: fc.nat(12) }),
  fc.record({ k: fc.constant('prefix' as const), e: fc.nat(20), n: fc.nat(3) }),
  fc.record({ k: fc.constant('unassign' as const), e: fc.nat(20), n: fc.nat(4) }),
  fc.record({ k: fc.constant('unprefix' as const), e: fc.nat(20) }),
);

/** Every IPv4 address an ENI holds, prefixes expanded. */
function held(w: World): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of w.enis.values()) {
    const list = out.get(e.subnetId) ?? [];
    list.push(e.primaryIp, ...e.secondaryIps);
    for (const p of e.ipv4Prefixes) {
      const base = ipToBigint(p.split('/')[0]!);
      for (let i = 0n; i < 16n; i++) list.push(String(base + i));
    }
    out.set(e.subnetId, list);
  }
  return out;
}

function checkInvariants(w: World, instanceId: string): void {
  const h = held(w);
  for (const s of SUBNETS) {
    const list = (h.get(s.id) ?? []).map((x) => (x.includes('.') ? String(ipToBigint(x)) : x));
    expect(new Set(list).size, `duplicate address in ${s.id}`).toBe(list.length);
    const c = parseCidr(s.cidr);
    const size = 1n << BigInt(32 - c.bits);
    for (const n of list.map(BigInt)) {
      const off = n - c.base;
      expect(off >= 4n && off < size - 1n, `reserved or outside address offset ${off}`).toBe(true);
    }
    expect(w.alloc(s.id).available()).toBe(Number(size) - 5 - list.length);
  }
  const lim = instanceLimits('m5.large')!;
  const attached = w.enisOf(instanceId);
  expect(attached.length).toBeLessThanOrEqual(lim.networkCards[0]!.maxEnis);
  expect(new Set(attached.map((e) => e.attachment!.deviceIndex)).size).toBe(attached.length);
  for (const e of attached) {
    expect(1 + e.secondaryIps.length + e.ipv4Prefixes.length).toBeLessThanOrEqual(lim.ipv4PerEni);
    expect(e.status).toBe('in-use');
  }
  for (const e of w.enis.values()) {
    for (const ip of [e.primaryIp, ...e.secondaryIps])
      expect(cidrContains(parseCidr(w.subnet(e.subnetId).cidr), ip)).toBe(true);
    if (!e.attachment) expect(e.status).toBe('available');
  }
}

describe('world properties', () => {
  it('no address twice, limits hold, failed calls change nothing, detach/delete semantics', async () => {
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 80 }), async (ops) => {
        const w = new World({ vpc: { cidrs: ['10.1.0.0/16'] }, subnets: SUBNETS });
        const inst = await launchInstance(w, { type: 'm5.large', subnetId: SUBNETS[0]!.id });
        const ids = (): string[] => [...w.enis.keys()].filter((id) => id !== inst.primaryEniId);
        const pick = (i: number): string | undefined => {
          const all = [inst.primaryEniId, ...ids()];
          return all[i % all.length];
        };
        for (const o of ops) {
          const before = JSON.stringify(
            [...w.enis.values()].map((e) => [e.id, e.secondaryIps, e.ipv4Prefixes, e.attachment?.id]),
          );
          const availBefore = SUBNETS.map((s) => w.alloc(s.id).available());
          try {
            const id = 'e' in o ? pick(o.e)! : '';
            switch (o.k) {
              case 'create':
                createEni(w, {
                  subnetId: SUBNETS[o.s]!.id,
                  secondaryCount: o.n,
                  ipv4PrefixCount: o.n === 0 ? o.p : 0,
                });
                break;
              case 'attach':
                await attachEni(w, { eniId: id, instanceId: inst.id, deviceIndex: o.d }, 0);
                break;
              case 'detach': {
                const att = w.eni(id).attachment;
                await detachEni(w, att?.id ?? 'eni-attach-0none', 0);
                expect(w.eni(id).status).toBe('available');
                break;
              }
              case 'delete': {
                const e = w.eni(id);
                const ips = [e.primaryIp, ...e.secondaryIps];
                deleteEni(w, id);
                for (const ip of ips) expect(w.alloc(e.subnetId).isFree(ip)).toBe(true);
                break;
              }
              case 'assign':
                assignIpv4(w, id, { count: o.n });
                break;
              case 'prefix':
                assignIpv4(w, id, { prefixCount: o.n });
                break;
              case 'unassign':
                unassignIpv4(w, id, w.eni(id).secondaryIps.slice(0, o.n), []);
                break;
              case 'unprefix':
                unassignIpv4(w, id, [], w.eni(id).ipv4Prefixes.slice(0, 1));
                break;
            }
          } catch (e) {
            if (!(e instanceof Ec2Error)) throw e;
            codes.add(e.code);
            // A rejected call leaves every ENI and every subnet count as it was.
            const after = JSON.stringify(
              [...w.enis.values()].map((x) => [x.id, x.secondaryIps, x.ipv4Prefixes, x.attachment?.id]),
            );
            expect(after).toBe(before);
            expect(SUBNETS.map((s) => w.alloc(s.id).available())).toEqual(availBefore);
            // Deleting an attached ENI is refused; a primary never detaches.
            if (o.k === 'delete') expect(w.eni(pick(o.e)!).attachment).toBeDefined();
          }
          checkInvariants(w, inst.id);
        }
      }),
      { numRuns: 300 },
    );
    // The runs reached rejections (not only the happy path); targeted limit properties follow.
    expect(codes.size).toBeGreaterThan(2);
  });

  it('instances accept exactly the ENIs their type allows on each card (AttachmentLimitExceeded after)', async () => {
    const types = [
      'm5.large',
      't3.medium',
      'c5.18xlarge',
      'm5.24xlarge',
      'p4d.24xlarge',
      't3.nano',
      'r6i.32xlarge',
    ].filter((t) => instanceLimits(t) !== undefined);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...types), async (type) => {
        const lim = instanceLimits(type)!;
        const w = new World({
          vpc: { cidrs: ['10.2.0.0/16'] },
          subnets: [{ id: 'subnet-0000000000000000c', cidr: '10.2.0.0/20', az: 'us-west-2a' }],
        });
        const inst = await launchInstance(w, { type, subnetId: 'subnet-0000000000000000c' });
        for (const card of lim.networkCards) {
          let attached = card.index === 0 ? 1 : 0;
          let refused: string | undefined;
          for (let d = card.index === 0 ? 1 : 0; refused === undefined; d++) {
            const e = createEni(w, { subnetId: 'subnet-0000000000000000c' });
            try {
              await attachEni(
                w,
                { eniId: e.id, instanceId: inst.id, deviceIndex: d, networkCardIndex: card.index },
                0,
              );
              attached++;
            } catch (x) {
              refused = (x as Ec2Error).code;
            }
          }
          expect(refused).toBe('AttachmentLimitExceeded');
          expect(attached).toBe(card.maxEnis);
        }
      }),
      { numRuns: 10 },
    );
  });

  it('a subnet hands out exactly size − 5 addresses, all distinct, then InsufficientFreeAddressesInSubnet', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 24, max: 28 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 40 }),
        async (bits, asks) => {
          const sid = 'subnet-0000000000000000d';
          const w = new World({
            vpc: { cidrs: ['10.3.0.0/16'] },
            subnets: [{ id: sid, cidr: `10.3.0.0/${bits}`, az: 'us-west-2a' }],
          });
          const usable = 2 ** (32 - bits) - 5;
          const got: string[] = [];
          for (let i = 0; got.length < usable && i < 1000; i++) {
            const ask = asks[i % asks.length]!;
            try {
              const e = createEni(w, { subnetId: sid, secondaryCount: ask - 1 });
              got.push(e.primaryIp, ...e.secondaryIps);
            } catch (x) {
              expect((x as Ec2Error).code).toBe('InsufficientFreeAddressesInSubnet');
              if (ask === 1) break;
              asks[i % asks.length] = 1; // ask smaller next time round
            }
          }
          expect(new Set(got).size).toBe(got.length);
          expect(got.length).toBe(usable);
          expect(w.alloc(sid).available()).toBe(0);
          expect(() => createEni(w, { subnetId: sid })).toThrow(Ec2Error);
        },
      ),
      { numRuns: 40 },
    );
  });
});
