// A DEL only ever removes what belongs to its own container (issue 22, defect 1): with ipamd down, DEL cleans the
// host side from prevResult, and the address in that prevResult may by then belong to another pod (ipamd released
// it on the first DEL and handed it out again). Run as containerd runs the plugin, in throwaway netns.
import { describe, expect, it } from 'vitest';
import { delNetns, ipj, runPlugin } from './harness.js';
import { conf, env, hostNs, ipamd, newPod, rules } from './plugin-fixture.js';

const IP = '10.0.7.7';
const TABLE = 3;
const down = { ipamdEndpoint: `unix://${ipamd.dir}/no-ipamd-here.sock` };

const hostRoute = () => ipj<{ dst: string; dev: string }>(hostNs, ['route', 'show', `${IP}/32`]);
const ownRules = () => rules().filter((r) => r.dst === IP || r.src === IP);

function serveAddress(): void {
  ipamd.onAdd = () => ({ IPAllocationMetadata: [{ IPv4Addr: IP, DeviceNumber: 2, RouteTableId: TABLE }] });
  ipamd.onDel = () => ({ IPAllocationMetadata: [{ IPv4Addr: IP, DeviceNumber: 2, RouteTableId: TABLE }] });
}

async function add(cid: string, netns: string, pod: string): Promise<Record<string, unknown>> {
  const r = await runPlugin(hostNs, env('ADD', cid, netns, pod), JSON.stringify(conf()));
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.json ?? {};
}

async function expectIntact(cid: string, netns: string, pod: string, prev: Record<string, unknown>) {
  const hostIf = (prev['interfaces'] as { name: string }[])[0]?.name;
  expect(hostRoute()).toEqual([expect.objectContaining({ dst: IP, dev: hostIf })]);
  expect(ownRules()).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ priority: 512, dst: IP, table: 'main' }),
      expect.objectContaining({ priority: 1536, src: IP, table: String(TABLE) }),
    ]),
  );
  const check = await runPlugin(
    hostNs,
    env('CHECK', cid, netns, pod),
    JSON.stringify(conf({ prevResult: prev })),
  );
  expect(check.stdout).toBe('');
  expect(check.code).toBe(0);
}

describe('DEL with ipamd down removes only its own container state', () => {
  it("a repeated DEL of c1 leaves c2's route and rules when c2 was given c1's address", async () => {
    serveAddress();
    const p1 = newPod();
    const p2 = newPod();
    const prev1 = await add('c1-own', p1.path, 'alpha');
    const del1 = await runPlugin(
      hostNs,
      env('DEL', 'c1-own', p1.path, 'alpha'),
      JSON.stringify(conf({ prevResult: prev1 })),
    );
    expect(del1.code).toBe(0);
    expect(hostRoute()).toEqual([]);
    const prev2 = await add('c2-own', p2.path, 'beta');
    // ipamd restarts; the runtime repeats c1's DEL with c1's prevResult.
    const again = await runPlugin(
      hostNs,
      env('DEL', 'c1-own', p1.path, 'alpha'),
      JSON.stringify(conf({ ...down, prevResult: prev1 })),
    );
    expect(again.code).toBe(1);
    expect(again.json).toMatchObject({ code: 11 });
    await expectIntact('c2-own', p2.path, 'beta', prev2);
    // Also with the old netns gone and CNI_NETNS empty, as a runtime repeats a DEL after teardown.
    delNetns(p1.name);
    const late = await runPlugin(
      hostNs,
      env('DEL', 'c1-own', '', 'alpha'),
      JSON.stringify(conf({ ...down, prevResult: prev1 })),
    );
    expect(late.json).toMatchObject({ code: 11 });
    await expectIntact('c2-own', p2.path, 'beta', prev2);
    const del2 = await runPlugin(
      hostNs,
      env('DEL', 'c2-own', p2.path, 'beta'),
      JSON.stringify(conf({ prevResult: prev2 })),
    );
    expect(del2.code).toBe(0);
    expect([hostRoute(), ownRules()]).toEqual([[], []]);
  });

  it('a re-created sandbox of the same pod (same host veth name) is not torn down by the old DEL', async () => {
    serveAddress();
    const p1 = newPod();
    const p2 = newPod();
    const prev1 = await add('c1-same', p1.path, 'gamma');
    const del1 = await runPlugin(
      hostNs,
      env('DEL', 'c1-same', p1.path, 'gamma'),
      JSON.stringify(conf({ prevResult: prev1 })),
    );
    expect(del1.code).toBe(0);
    const prev2 = await add('c2-same', p2.path, 'gamma');
    expect((prev2['interfaces'] as { name: string }[])[0]).toEqual(
      (prev1['interfaces'] as { name: string }[])[0],
    );
    const again = await runPlugin(
      hostNs,
      env('DEL', 'c1-same', p1.path, 'gamma'),
      JSON.stringify(conf({ ...down, prevResult: prev1 })),
    );
    expect(again.json).toMatchObject({ code: 11 });
    await expectIntact('c2-same', p2.path, 'gamma', prev2);
    await runPlugin(
      hostNs,
      env('DEL', 'c2-same', p2.path, 'gamma'),
      JSON.stringify(conf({ prevResult: prev2 })),
    );
    expect([hostRoute(), ownRules()]).toEqual([[], []]);
  });

  it("the container's own state is still cleaned: route, rules, and rules left after its netns went", async () => {
    serveAddress();
    const p = newPod();
    const prev = await add('c3-own', p.path, 'delta');
    const del = await runPlugin(
      hostNs,
      env('DEL', 'c3-own', p.path, 'delta'),
      JSON.stringify(conf({ ...down, prevResult: prev })),
    );
    expect(del.json).toMatchObject({ code: 11 });
    expect([hostRoute(), ownRules()]).toEqual([[], []]);

    const q = newPod();
    const prevQ = await add('c4-own', q.path, 'epsilon');
    delNetns(q.name); // the veth pair and its route go with the netns; the rules stay
    // The kernel tears a deleted netns down in the background: wait (bounded) for its veth's route to go.
    for (let i = 0; i < 100 && hostRoute().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(hostRoute()).toEqual([]);
    expect(ownRules()).toHaveLength(2);
    const late = await runPlugin(
      hostNs,
      env('DEL', 'c4-own', '', 'epsilon'),
      JSON.stringify(conf({ ...down, prevResult: prevQ })),
    );
    expect(late.json).toMatchObject({ code: 11 });
    expect(ownRules()).toEqual([]);
  });
});
