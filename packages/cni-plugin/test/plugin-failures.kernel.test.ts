// aws-cni failing as it must: rollback after a refused or broken ADD, a failure at every kernel step, ipamd
// down, bad input; executed as containerd would, in throwaway netns, state checked with ip -j.
import { describe, expect, it } from 'vitest';
import { ServingStatus } from '@vpc-cni/shared/rpc';
import { ipj, runPlugin } from './harness.js';
import { conf, env, hostLinks, hostNs, ipamd, newPod, rules } from './plugin-fixture.js';

describe('aws-cni in throwaway netns: failures', () => {
  it('ADD failing after the address was assigned rolls back both netns and releases the address', async () => {
    const pod = newPod();
    ipamd.onAdd = () => ({
      IPAllocationMetadata: [{ IPv4Addr: '10.0.32.58', DeviceNumber: -1, RouteTableId: 0 }],
      PodVlanId: 8,
      PodENIMAC: '0a:00:00:00:00:08',
      PodENISubnetGW: '10.0.32.1',
      ParentIfIndex: 999_999, // no such trunk: the VLAN step fails after the veth is wired
    });
    ipamd.onDel = () => ({});
    const before = ipamd.dels.length;
    const add = await runPlugin(hostNs, env('ADD', 'c-fail', pod.path, 'failing'), JSON.stringify(conf()));
    expect(add.code).toBe(1);
    expect(add.json).toMatchObject({
      code: 999,
      msg: expect.stringMatching(/^add command: failed to setup network: .*trunk/),
    });
    expect(ipamd.dels.slice(before)).toEqual([
      expect.objectContaining({ Reason: 'SetupNSFailed', ContainerID: 'c-fail' }),
    ]);
    expect(hostLinks().filter((l) => l.startsWith('vlan'))).toEqual([]);
    expect(ipj(pod.name, ['link', 'show']).map((l) => l['ifname'])).toEqual(['lo']);
    expect(rules().filter((r) => r.priority === 10 || r.dst === '10.0.32.58')).toEqual([]);
  });

  it('a failure injected at every kernel step of an ADD leaves nothing behind and releases the address', async () => {
    const reply = { IPAllocationMetadata: [{ IPv4Addr: '10.0.5.5', DeviceNumber: 1, RouteTableId: 2 }] };
    ipamd.onAdd = () => reply;
    ipamd.onDel = () => ({});
    const baseline = { links: hostLinks(), rules: rules().length };
    const steps = 14; // ops in an ordinary secondary-ENI IPv4 plan (plan.test.ts pins the list)
    for (let k = 1; k <= steps; k++) {
      const pod = newPod();
      const before = ipamd.dels.length;
      const add = await runPlugin(
        hostNs,
        { ...env('ADD', `c-inj-${k}`, pod.path, 'inj'), AWS_CNI_TEST_FAIL_AT_OP: String(k) },
        JSON.stringify(conf()),
      );
      expect({ ...add.json, stderr: add.stderr.slice(0, 300) }, `step ${k}`).toMatchObject({
        code: 999,
        msg: expect.stringContaining(`injected failure at op ${k}`),
      });
      expect(ipamd.dels.slice(before), `step ${k}`).toEqual([
        expect.objectContaining({ Reason: 'SetupNSFailed' }),
      ]);
      expect(hostLinks(), `step ${k}`).toEqual(baseline.links);
      expect(rules().length, `step ${k}`).toBe(baseline.rules);
      expect(ipj(hostNs, ['route', 'show', '10.0.5.5']), `step ${k}`).toEqual([]);
      expect(
        ipj(pod.name, ['link', 'show']).map((l) => l['ifname']),
        `step ${k}`,
      ).toEqual(['lo']);
    }
    // one past the last op: the ADD succeeds
    const pod = newPod();
    const ok = await runPlugin(
      hostNs,
      { ...env('ADD', 'c-inj-ok', pod.path, 'inj'), AWS_CNI_TEST_FAIL_AT_OP: String(steps + 1) },
      JSON.stringify(conf()),
    );
    expect(ok.code).toBe(0);
  }, 120_000);

  it('ipamd down: ADD is code 11 with a remedy; STATUS is 50', async () => {
    const pod = newPod();
    const c = conf({ cniVersion: '1.1.0', ipamdEndpoint: `unix://${ipamd.dir}/missing.sock` });
    const add = await runPlugin(hostNs, env('ADD', 'c-down', pod.path, 'down'), JSON.stringify(c));
    expect(add.json).toMatchObject({ code: 11, details: expect.stringContaining('aws-node pod running') });
    expect(ipj(pod.name, ['link', 'show']).map((l) => l['ifname'])).toEqual(['lo']);
    const st = await runPlugin(
      hostNs,
      { CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' },
      JSON.stringify(c),
    );
    expect(st.json).toMatchObject({ code: 50 });
    const ok = await runPlugin(
      hostNs,
      { CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' },
      JSON.stringify(conf({ cniVersion: '1.1.0' })),
    );
    expect(ok).toMatchObject({ code: 0, stdout: '' });
    ipamd.setHealth(ServingStatus.NOT_SERVING);
    const full = await runPlugin(
      hostNs,
      { CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' },
      JSON.stringify(conf({ cniVersion: '1.1.0' })),
    );
    ipamd.setHealth(ServingStatus.SERVING);
    expect(full.json).toMatchObject({ code: 51 });
    const old = await runPlugin(
      hostNs,
      { CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' },
      JSON.stringify(conf({ cniVersion: '1.0.0' })),
    );
    expect(old.json).toMatchObject({ code: 1, msg: 'config version does not allow STATUS' });
  });

  it('bad input changes nothing and calls nobody', async () => {
    const pod = newPod();
    const before = ipamd.adds.length;
    const r = await runPlugin(
      hostNs,
      env('ADD', 'c-bad', pod.path, 'bad'),
      '{"name": "aws-cni", "cniVersion": "1.0.0", "mtu": 1500',
    );
    expect(r.json).toMatchObject({ code: 6 });
    expect(ipamd.adds.length).toBe(before);
    expect(ipj(pod.name, ['link', 'show']).map((l) => l['ifname'])).toEqual(['lo']);
  });
});
