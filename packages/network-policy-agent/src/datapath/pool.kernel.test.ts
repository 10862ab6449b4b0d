// The warm pool against the real kernel (private bpffs, throwaway namespaces; test/world.ts): a pool-served
// attach enforces exactly as an inline one, the pool refills, pool pins left by an earlier instance are adopted
// or removed (no program left loaded), and a burst larger than the pool is served inline.
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodState, PROTO_TCP } from './contract.js';
import { EbpfDatapath, defaultObjectDir, type DatapathOptions } from './datapath.js';
import { closeFd, fdById, openPin, progInfo } from './bpf-object.js';
import { objectFile } from './pins.js';
import { createWorld, type World } from '../../test/world.js';

const KEY = 'web-1@pool';
const strict = { np: PodState.DefaultDeny, cp: PodState.DefaultAllow };

describe('warm program pool (kernel)', { timeout: 180_000 }, () => {
  let w: World;
  const open: EbpfDatapath[] = [];
  let objDir: string;

  beforeAll(async () => {
    w = await createWorld('pool');
    objDir = mkdtempSync('/tmp/npa-pool-obj-');
    for (const f of ['ingress', 'egress', 'events'] as const)
      copyFileSync(join(defaultObjectDir(), objectFile('ipv4', f)), join(objDir, objectFile('ipv4', f)));
  });
  afterAll(async () => {
    for (const dp of open) {
      await dp.stopPool();
      dp.close();
    }
    w?.cleanup();
    if (objDir) rmSync(objDir, { recursive: true, force: true });
  });

  const dpWith = (o: Partial<DatapathOptions>): EbpfDatapath => {
    const dp = new EbpfDatapath({
      family: 'ipv4',
      pinRoot: w.pinRoot,
      netns: `/var/run/netns/${w.node}`,
      objectDir: objDir,
      ...o,
    });
    open.push(dp);
    return dp;
  };
  const shut = async (dp: EbpfDatapath) => {
    await dp.stopPool();
    dp.close();
    open.splice(open.indexOf(dp), 1);
  };
  const poolSlots = () =>
    [...new Set(readdirSync(join(w.pinRoot, 'pool')).map((f) => f.split('_')[0]))].sort();
  const slotProgIds = (): number[] =>
    readdirSync(join(w.pinRoot, 'pool'))
      .filter((f) => f.endsWith('_handle_ingress') || f.endsWith('_handle_egress'))
      .map((f) => {
        const fd = openPin(join(w.pinRoot, 'pool', f));
        try {
          return progInfo(fd).id;
        } finally {
          closeFd(fd);
        }
      });
  const progAlive = (id: number): boolean => {
    try {
      closeFd(fdById('prog', id));
      return true;
    } catch {
      return false;
    }
  };

  /** The verdicts a fresh strict key gives, then with a TCP/80 rule from the peer applied. */
  async function enforceSequence(dp: EbpfDatapath): Promise<boolean[]> {
    dp.attach(KEY, [w.veth], strict);
    const out = [await w.peerProbe.tcp(w.podIp, 80, 1), await w.podProbe.tcp(w.peerIp, 80, 1)];
    dp.writePolicy(
      KEY,
      'ingress',
      new Map([[`${w.peerIp}/32`, [{ protocol: PROTO_TCP, startPort: 80, endPort: 0 }]]]),
    );
    dp.setState(KEY, 'ingress', 'np', PodState.PoliciesApplied);
    out.push(await w.peerProbe.tcp(w.podIp, 80), await w.peerProbe.tcp(w.podIp, 81, 1));
    dp.remove(KEY);
    dp.flushConntrack();
    return out;
  }

  it('a pool-served attach enforces exactly as an inline one (strict: closed from the first packet); the pool refills', async () => {
    expect(() => dpWith({ poolSize: 17 })).toThrow(/poolSize 17: must be an integer 0-16/);
    const pooled = dpWith({ poolSize: 2 });
    await pooled.poolFilled();
    expect(pooled.poolStatus()).toMatchObject({ ready: 2, loading: 0, served: 0 });
    expect(poolSlots()).toHaveLength(2);
    const fromPool = await enforceSequence(pooled);
    expect(pooled.poolStatus()).toMatchObject({ served: 1, inline: 0 });
    await pooled.poolFilled();
    expect(pooled.poolStatus()).toMatchObject({ ready: 2, loading: 0 });
    expect(poolSlots()).toHaveLength(2);
    await shut(pooled);

    // Same pin root, no pool: the next open removes the two slots and the key loads inline.
    const ids = slotProgIds();
    expect(ids).toHaveLength(4);
    const inline = dpWith({ poolSize: 0 });
    expect(inline.poolStatus()).toMatchObject({ ready: 0, adopted: 0, removedAtOpen: 2 });
    expect(poolSlots()).toEqual([]);
    const inlineVerdicts = await enforceSequence(inline);
    expect(inline.poolStatus()).toMatchObject({ served: 0, inline: 1 });
    await shut(inline);

    expect(fromPool).toEqual([false, false, true, false]);
    expect(inlineVerdicts).toEqual(fromPool);
    await until(() => ids.every((id) => !progAlive(id)));
  });

  it('restart with pool pins present: complete slots of the same objects adopted, the rest removed, nothing left loaded', async () => {
    const first = dpWith({ poolSize: 3 });
    await first.poolFilled();
    const before = poolSlots();
    expect(before).toHaveLength(3);
    const ids = slotProgIds();
    first.close(); // no stopPool: as a killed agent, the slots stay pinned
    open.splice(open.indexOf(first), 1);
    // A slot cut short (as a load interrupted by a crash) and a stray file.
    rmSync(join(w.pinRoot, 'pool', `${before[2]}_egress_pod_state_map`));
    const second = dpWith({ poolSize: 3 });
    expect(second.poolStatus()).toMatchObject({ adopted: 2, removedAtOpen: 1 });
    expect(poolSlots()).toEqual(expect.arrayContaining(before.slice(0, 2)));
    expect(poolSlots()).not.toContain(before[2]);
    await second.poolFilled();
    expect(second.poolStatus()).toMatchObject({ ready: 3, adopted: 2 });
    const adoptedIds = slotProgIds();
    expect(adoptedIds.filter((id) => ids.includes(id))).toHaveLength(4); // same programs, not reloaded
    await until(() => ids.filter((id) => !adoptedIds.includes(id)).every((id) => !progAlive(id)));
    await shut(second);

    // Changed objects (an upgrade): no slot of the old objects is adopted.
    for (const d of ['ingress', 'egress'] as const) appendFileSync(join(objDir, objectFile('ipv4', d)), '\0');
    const upgraded = dpWith({ poolSize: 1 });
    expect(upgraded.poolStatus()).toMatchObject({ adopted: 0, removedAtOpen: 3 });
    await upgraded.poolFilled();
    expect(poolSlots()).toHaveLength(1);
    await shut(upgraded);
    await until(() => adoptedIds.every((id) => !progAlive(id)));
  });

  it('IPv6: a pool-served key is closed from the first packet, then admits exactly its rule', async () => {
    for (const f of ['ingress', 'egress', 'events'] as const)
      copyFileSync(join(defaultObjectDir(), objectFile('ipv6', f)), join(objDir, objectFile('ipv6', f)));
    const dp = dpWith({ family: 'ipv6', pinRoot: join(w.bpffs, 'v6'), poolSize: 1 });
    await dp.poolFilled();
    dp.attach(KEY, [w.veth], strict);
    expect(dp.poolStatus()).toMatchObject({ served: 1, inline: 0 });
    expect(await w.peerProbe.tcp(w.podIp6, 80, 1)).toBe(false);
    expect(await w.podProbe.tcp(w.peerIp6, 80, 1)).toBe(false);
    dp.writePolicy(
      KEY,
      'ingress',
      new Map([[`${w.peerIp6}/128`, [{ protocol: PROTO_TCP, startPort: 80, endPort: 0 }]]]),
    );
    dp.setState(KEY, 'ingress', 'np', PodState.PoliciesApplied);
    expect(await w.peerProbe.tcp(w.podIp6, 80)).toBe(true);
    expect(await w.peerProbe.tcp(w.podIp6, 81, 1)).toBe(false);
    dp.remove(KEY);
    await shut(dp);
  });

  it('a burst larger than the pool: every key attached (the rest inline), then the pool refills', async () => {
    const n = 5;
    const ifs = Array.from({ length: n }, (_, i) => `enipool${i}`);
    for (const i of ifs) {
      w.ip(w.node, ['link', 'add', i, 'type', 'veth', 'peer', 'name', `p${i}`]);
      w.ip(w.node, ['link', 'set', i, 'up']);
    }
    const dp = dpWith({ poolSize: 2 });
    await dp.poolFilled();
    for (let i = 0; i < n; i++) dp.attach(`burst-${i}@pool`, [ifs[i]!], strict);
    expect(dp.poolStatus()).toMatchObject({ served: 2, inline: 3 });
    const keys = dp.listKeys().filter((k) => k.key.startsWith('burst-'));
    expect(keys).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      const k = keys.find((x) => x.key === `burst-${i}@pool`)!;
      expect(k.attached.map((a) => a.ifname)).toEqual([ifs[i]]);
      expect(k.attached[0]!.ingressProgId).toBeGreaterThan(0);
      expect(dp.getState(k.key, 'ingress', 'np')).toBe(PodState.DefaultDeny);
      expect(existsSync(join(w.pinRoot, 'programs', `burst-${i}@pool_handle_egress`))).toBe(true);
    }
    // All ten programs distinct (no slot handed out twice).
    const progIds = keys.flatMap((k) => [k.attached[0]!.ingressProgId, k.attached[0]!.egressProgId]);
    expect(new Set(progIds).size).toBe(2 * n);
    await dp.poolFilled();
    expect(dp.poolStatus()).toMatchObject({ ready: 2, loading: 0 });
    for (let i = 0; i < n; i++) dp.remove(`burst-${i}@pool`);
    await shut(dp);
  });

  it('a full pool retires its loader thread; the next attach is served and a new thread refills', async () => {
    const dp = dpWith({ poolSize: 1, poolWorkerIdleMs: 50 });
    await dp.poolFilled();
    await until(() => dp.poolStatus().loaderThread === 0);
    expect(dp.poolStatus()).toMatchObject({ ready: 1, loading: 0 });
    const verdicts = await enforceSequence(dp); // takes the slot: a refill starts a new thread
    expect(verdicts).toEqual([false, false, true, false]);
    expect(dp.poolStatus()).toMatchObject({ served: 1, inline: 0 });
    await dp.poolFilled();
    expect(dp.poolStatus()).toMatchObject({ ready: 1, loading: 0 });
    expect(poolSlots()).toHaveLength(1);
    await until(() => dp.poolStatus().loaderThread === 0);
    await shut(dp);
  });
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
