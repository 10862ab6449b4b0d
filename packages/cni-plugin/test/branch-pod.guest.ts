// Branch-ENI (security groups for pods) pods wired by aws-cni on a kernel with 802.1Q: strict and standard mode,
// CHECK, DEL, rollback. A node:test file run by the VLAN lab (scripts/vlan-lab/README.md) from
// branch-pod.kernel.test.ts; the node it works on is branch-node.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddNetworkReply, GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import { dummyIfName, hostVethName, vlanLinkName } from '../src/names.js';
import { planAdd, prewireOps } from '../src/plan/add.js';
import { rollbackOps } from '../src/plan/teardown.js';
import { ipj } from './harness.js';
import {
  GW,
  branchReply,
  cni,
  hostNs,
  hostState,
  ip,
  ipamd,
  mac,
  newPod,
  podState,
  tableRoutes,
} from './branch-node.js';

test('strict: VLAN link on the trunk, table 100+V, prio-10 rules; CHECK; DEL via prevResult; DEL again and with no netns', async () => {
  const pod = newPod();
  const veth = hostVethName('vlan', 'default', 'nginx');
  ipamd.onAdd = () => branchReply('10.0.32.57', 7);
  const add = await cni('ADD', 'c-br', pod.path, 'nginx', 'strict');
  assert.equal(add.code, 0, add.stdout + add.stderr);
  assert.deepEqual(add.json, {
    cniVersion: '1.0.0',
    interfaces: [
      { name: veth },
      { name: 'eth0', mac: '0', sandbox: pod.path },
      { name: dummyIfName('default', 'nginx'), mac: '7' },
    ],
    ips: [{ interface: 1, address: '10.0.32.57/32', gateway: GW }],
  });
  const s = hostState();
  const vlan = s.links.find((l) => l.ifname === 'vlan.eth.7');
  assert.ok(vlan, 'vlan.eth.7 exists');
  assert.equal(vlan.link, 'trunk0');
  assert.equal(vlan.address, mac(7));
  assert.deepEqual(vlan.linkinfo?.info_kind, 'vlan');
  assert.deepEqual(vlan.linkinfo?.info_data, { ...vlan.linkinfo?.info_data, protocol: '802.1Q', id: 7 });
  assert.ok(vlan.flags.includes('UP'));
  const names = s.links.map((l) => l.ifname);
  assert.ok(names.includes(veth));
  assert.ok(!names.includes(hostVethName('eni', 'default', 'nginx')), 'the pre-wired eni veth was undone');
  assert.deepEqual(tableRoutes(s, '107'), [
    `${GW} vlan.eth.7`,
    `10.0.32.57 ${veth}`,
    `default via ${GW} vlan.eth.7`,
  ]);
  assert.deepEqual(
    s.rules
      .filter((r) => r.priority === 10)
      .map((r) => `${r.iif} ${r.table}`)
      .sort(),
    [`${veth} 107`, 'vlan.eth.7 107'].sort(),
  );
  assert.deepEqual(
    s.rules.filter((r) => r.src === '10.0.32.57' || r.dst === '10.0.32.57'),
    [],
  );
  assert.ok(!tableRoutes(s, 'main').some((r) => r.startsWith('10.0.32.57 ')), 'no main-table pod route');
  assert.deepEqual(podState(pod.name), {
    links: ['lo', 'eth0'],
    eth0: ['10.0.32.57/32'],
    routes: ['169.254.1.1 eth0', 'default via 169.254.1.1 eth0'],
  });

  const prev = { prevResult: add.json };
  const check = await cni('CHECK', 'c-br', pod.path, 'nginx', 'strict', prev);
  assert.deepEqual({ code: check.code, out: check.stdout }, { code: 0, out: '' });
  ip(hostNs, ['route', 'del', '10.0.32.57/32', 'table', '107']);
  const c1 = await cni('CHECK', 'c-br', pod.path, 'nginx', 'strict', prev);
  assert.equal(c1.json?.['msg'], `CHECK: host route 10.0.32.57 dev ${veth} is missing`);
  ip(hostNs, ['link', 'del', 'vlan.eth.7']);
  const c2 = await cni('CHECK', 'c-br', pod.path, 'nginx', 'strict', prev);
  assert.equal(c2.json?.['msg'], 'CHECK: VLAN link vlan.eth.7 is missing');

  ipamd.onDel = () => branchReply('10.0.32.57', 7);
  const del = await cni('DEL', 'c-br', pod.path, 'nginx', 'strict', prev);
  assert.deepEqual({ code: del.code, out: del.stdout }, { code: 0, out: '' });
  const gone = hostState();
  assert.ok(!gone.links.some((l) => l.ifname === 'vlan.eth.7'));
  assert.deepEqual(tableRoutes(gone, '107'), []);
  assert.deepEqual(
    gone.rules.filter((r) => r.priority === 10),
    [],
  );
  const del2 = await cni('DEL', 'c-br', pod.path, 'nginx', 'strict', prev);
  assert.deepEqual({ code: del2.code, out: del2.stdout }, { code: 0, out: '' });
  assert.deepEqual(hostState().rules, gone.rules);
  ipamd.onDel = () => new RpcError(GrpcStatus.UNKNOWN, 'datastore: unknown pod', 'DelNetwork');
  const del3 = await cni('DEL', 'c-br', '', 'nginx', 'strict');
  assert.deepEqual({ code: del3.code, out: del3.stdout }, { code: 0, out: '' });
});

test('standard: VLAN link and table 100+V for egress, main route + rules 512/1536, no prio-10 rules; CHECK; DEL twice', async () => {
  const pod = newPod();
  const veth = hostVethName('eni', 'default', 'web');
  ipamd.onAdd = () => branchReply('10.0.32.60', 9);
  const add = await cni('ADD', 'c-std', pod.path, 'web', 'standard');
  assert.equal(add.code, 0, add.stdout + add.stderr);
  assert.deepEqual(add.json?.['interfaces'], [
    { name: veth },
    { name: 'eth0', mac: '0', sandbox: pod.path },
    { name: dummyIfName('default', 'web'), mac: '9' },
  ]);
  const s = hostState();
  assert.equal(s.links.find((l) => l.ifname === 'vlan.eth.9')?.linkinfo?.info_data?.id, 9);
  assert.deepEqual(tableRoutes(s, '109'), [`${GW} vlan.eth.9`, `default via ${GW} vlan.eth.9`]);
  assert.ok(tableRoutes(s, 'main').includes(`10.0.32.60 ${veth}`));
  assert.deepEqual(
    s.rules
      .filter((r) => r.src === '10.0.32.60' || r.dst === '10.0.32.60')
      .map((r) => `${r.priority} ${r.src ?? 'all'}>${r.dst ?? 'all'} ${r.table}`)
      .sort(),
    ['1536 10.0.32.60>all 109', '512 all>10.0.32.60 main'],
  );
  assert.deepEqual(
    s.rules.filter((r) => r.priority === 10),
    [],
  );
  const prev = { prevResult: add.json };
  const check = await cni('CHECK', 'c-std', pod.path, 'web', 'standard', prev);
  assert.equal(check.code, 0, check.stdout);
  ipamd.onDel = () => branchReply('10.0.32.60', 9);
  const del = await cni('DEL', 'c-std', pod.path, 'web', 'standard', prev);
  assert.equal(del.code, 0, del.stdout);
  const gone = hostState();
  assert.ok(!gone.links.some((l) => l.ifname === 'vlan.eth.9'));
  assert.deepEqual(
    gone.rules.filter((r) => r.src === '10.0.32.60' || r.dst === '10.0.32.60' || r.table === '109'),
    [],
  );
  assert.ok(!tableRoutes(gone, 'main').some((r) => r.startsWith('10.0.32.60 ')));
  const del2 = await cni('DEL', 'c-std', pod.path, 'web', 'standard', prev);
  assert.equal(del2.code, 0, del2.stdout);
  assert.deepEqual(hostState().rules, gone.rules);
});

test('a VLAN link of the same id left on another trunk is replaced by one on the trunk ipamd names', async () => {
  ip(hostNs, ['link', 'add', 'trunk1', 'type', 'dummy']);
  ip(hostNs, ['link', 'add', 'link', 'trunk1', 'name', 'vlan.eth.11', 'type', 'vlan', 'id', '11']);
  const pod = newPod();
  ipamd.onAdd = () => branchReply('10.0.32.61', 11);
  const add = await cni('ADD', 'c-stale', pod.path, 'stale', 'strict');
  assert.equal(add.code, 0, add.stdout);
  const l = hostState().links.find((x) => x.ifname === vlanLinkName(11));
  assert.deepEqual({ link: l?.link, address: l?.address }, { link: 'trunk0', address: mac(11) });
  ipamd.onDel = () => ({});
  const del = await cni('DEL', 'c-stale', pod.path, 'stale', 'strict', { prevResult: add.json });
  assert.equal(del.code, 0, del.stdout);
  ip(hostNs, ['link', 'del', 'trunk1']);
});

// The veth part of a plan fails and rolls back the same way for every pod kind (plugin-failures.kernel.test.ts
// injects a failure at each of its ops on the host); here each op a branch pod adds is made to fail once.
for (const mode of ['strict', 'standard'] as const) {
  test(`${mode}: a failure injected at each branch-pod step of ADD leaves nothing and releases the address`, async () => {
    const reply = branchReply('10.0.32.70', 20);
    ipamd.onAdd = () => reply;
    ipamd.onDel = () => ({});
    const plan = planAdd({
      reply: AddNetworkReply.fromPartial({ Success: true, ...reply }),
      podNamespace: 'default',
      podName: 'inj',
      ifName: 'eth0',
      netns: '/var/run/netns/x',
      vethPrefix: 'eni',
      mtu: 9001,
      sgMode: mode,
      hostMacs: ['02:00:00:00:00:01'],
    });
    // Executor applies before the plan's: strict mode undoes the eni veth pre-wired while ipamd answered.
    const pre = prewireOps({
      podNamespace: 'default',
      podName: 'inj',
      ifName: 'eth0',
      vethPrefix: 'eni',
      mtu: 9001,
      hostMac: '02:00:00:00:00:01',
    });
    const lead = mode === 'strict' ? pre.length + rollbackOps(pre).length : 0;
    const first = plan.ops.findIndex((op) => op.op === 'ruleDelAll' && op.priority === 10);
    assert.ok(first > 0, 'the plan has branch ops');
    const base = hostState();
    const pod = newPod(); // each failed ADD must leave it as it was: only lo
    for (let i = first; i < plan.ops.length; i++) {
      const k = lead + i + 1;
      const before = ipamd.dels.length;
      const r = await cni(
        'ADD',
        `c-inj-${mode}-${k}`,
        pod.path,
        'inj',
        mode,
        {},
        {
          AWS_CNI_TEST_FAIL_AT_OP: String(k),
        },
      );
      const step = `step ${k} (${plan.ops[i]?.op})`;
      assert.equal(
        r.json?.['msg'],
        `add command: failed to setup network: injected failure at op ${k} (${plan.ops[i]?.op})`,
        step,
      );
      assert.deepEqual(
        ipamd.dels.slice(before).map((d) => d.Reason),
        ['SetupNSFailed'],
        step,
      );
      const now = hostState();
      assert.deepEqual(
        now.links.map((l) => l.ifname),
        base.links.map((l) => l.ifname),
        `${step}: links`,
      );
      assert.deepEqual(now.rules, base.rules, `${step}: rules`);
      // The kernel drops a deleted link's own IPv6 link-local route in the background; the links are compared above.
      const ours = (rs: typeof now.routes) => rs.filter((r) => !String(r.dst).startsWith('fe80:'));
      assert.deepEqual(ours(now.routes), ours(base.routes), `${step}: routes`);
      assert.deepEqual(
        ipj<{ ifname: string }>(pod.name, ['link', 'show']).map((l) => l.ifname),
        ['lo'],
        `${step}: pod links`,
      );
    }
    // one past the last op: the ADD succeeds
    const k = lead + plan.ops.length + 1;
    const ok = await cni(
      'ADD',
      `c-inj-${mode}-ok`,
      pod.path,
      'inj',
      mode,
      {},
      { AWS_CNI_TEST_FAIL_AT_OP: String(k) },
    );
    assert.equal(ok.code, 0, ok.stdout);
    const del = await cni('DEL', `c-inj-${mode}-ok`, pod.path, 'inj', mode, { prevResult: ok.json });
    assert.equal(del.code, 0, del.stdout);
  });
}
