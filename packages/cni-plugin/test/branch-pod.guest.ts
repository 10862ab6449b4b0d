// Branch-ENI (security groups for pods) pods wired by aws-cni on a kernel with 802.1Q, as containerd runs the
// plugin, against a canned ipamd, in throwaway netns; state checked with `ip -j`, traffic with ping. A node:test
// file: branch-pod.kernel.test.ts runs it through the VLAN lab (scripts/vlan-lab: a QEMU guest with Debian's
// kernel when the host kernel has no 802.1Q, else directly) and reports each test as a vitest test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { AddNetworkReply, GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import { Netlink } from '@vpc-cni/shared/netlink';
import { applyHostRules } from '../../ipamd/src/hostnet/apply.js';
import type { HostNetSettings } from '../../ipamd/src/hostnet/desired.js';
import { dummyIfName, hostVethName, vlanLinkName } from '../src/names.js';
import { planAdd, prewireOps } from '../src/plan/add.js';
import { rollbackOps } from '../src/plan/teardown.js';
import { FakeIpamd, addNetns, cniEnv, delNetns, ipj, netConf, runPlugin, uniq } from './harness.js';

const hostNs = uniq('vlh'); // the node
const fabricNs = uniq('vlf'); // the VPC side of the trunk ENI and of the node's primary ENI
const ipamd = new FakeIpamd();
const pods: string[] = [];
let trunkIndex = 0;
const GW = '10.0.32.1';
const NODE_IP = '192.168.0.10';

function ip(ns: string, args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

function newPod(): { name: string; path: string } {
  const name = uniq('vlp');
  pods.push(name);
  return { name, path: addNetns(name) };
}

const mac = (vlan: number) => `0a:00:00:00:00:${vlan.toString(16).padStart(2, '0')}`;

function branchReply(addr: string, vlan: number, parent = trunkIndex) {
  return {
    IPAllocationMetadata: [{ IPv4Addr: addr, DeviceNumber: -1, RouteTableId: 0 }],
    PodVlanId: vlan,
    PodENIMAC: mac(vlan),
    PodENISubnetGW: GW,
    ParentIfIndex: parent,
  };
}

type Mode = 'strict' | 'standard';
const conf = (mode: Mode, extra: Record<string, unknown> = {}) =>
  JSON.stringify(netConf(ipamd, { podSGEnforcingMode: mode, ...extra }));
const cni = (cmd: string, cid: string, netns: string, pod: string, mode: Mode, extra = {}, envExtra = {}) =>
  runPlugin(hostNs, { ...cniEnv(cmd, cid, netns, pod), ...envExtra }, conf(mode, extra));

interface Link {
  ifname: string;
  link?: string;
  address: string;
  flags: string[];
  linkinfo?: { info_kind?: string; info_data?: { protocol?: string; id?: number } };
}
interface Rule {
  priority: number;
  src?: string;
  dst?: string;
  iif?: string;
  table: string;
}
interface Route {
  dst: string;
  gateway?: string;
  dev: string;
  table?: string;
  scope?: string;
}

/** The node's links, rules and routes (all tables) in one `ip -batch`. */
function hostState(): { links: Link[]; rules: Rule[]; routes: Route[] } {
  const out = execFileSync('ip', ['-n', hostNs, '-d', '-j', '-batch', '-'], {
    input: 'link show\nrule show\nroute show table all\n',
    encoding: 'utf8',
  });
  const [links, rules, routes] = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown[]);
  return { links: links as Link[], rules: rules as Rule[], routes: routes as Route[] };
}

const tableRoutes = (s: ReturnType<typeof hostState>, table: string) =>
  s.routes
    .filter((r) => (r.table ?? 'main') === table)
    .map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} ${r.dev}`)
    .sort();

const podState = (pod: string) => {
  const addrs = ipj<{ ifname: string; addr_info: { local: string; prefixlen: number }[] }>(pod, [
    'addr',
    'show',
  ]);
  const routes = ipj<Route>(pod, ['route', 'show']);
  return {
    links: addrs.map((a) => a.ifname),
    eth0: addrs
      .find((a) => a.ifname === 'eth0')
      ?.addr_info.filter((a) => !a.local.startsWith('fe80:'))
      .map((a) => `${a.local}/${a.prefixlen}`),
    routes: routes.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} ${r.dev}`).sort(),
  };
};

/** Packets the fabric received and sent on one VLAN of the trunk (the branch ENI's wire). */
function vlanCounters(vlan: number): { rx: number; tx: number } {
  const l = ipj<{ stats64: { rx: { packets: number }; tx: { packets: number } } }>(fabricNs, [
    '-s',
    'link',
    'show',
    `fab0.${vlan}`,
  ])[0];
  return { rx: l?.stats64.rx.packets ?? -1, tx: l?.stats64.tx.packets ?? -1 };
}

function ping(pod: string, dst: string, count = 2): boolean {
  try {
    execFileSync(
      'ip',
      ['netns', 'exec', pod, 'ping', '-n', '-q', '-i', '0.2', '-c', String(count), '-W', '2', dst],
      {
        stdio: 'ignore',
      },
    );
    return true;
  } catch {
    return false;
  }
}

/** The VPC side of branch ENI `vlan`: a tagged sub-interface answering for the subnet router. */
function fabricBranch(vlan: number, podIp: string): void {
  const sub = `fab0.${vlan}`;
  ip(fabricNs, ['link', 'add', 'link', 'fab0', 'name', sub, 'type', 'vlan', 'id', String(vlan)]);
  ip(fabricNs, ['addr', 'add', `${GW}/32`, 'dev', sub]);
  ip(fabricNs, ['link', 'set', sub, 'up']);
  ip(fabricNs, ['route', 'add', `${podIp}/32`, 'dev', sub]);
  ip(fabricNs, ['neigh', 'replace', podIp, 'lladdr', mac(vlan), 'dev', sub, 'nud', 'permanent']);
}

/** ipamd's node-wide rules (its own code) with security groups for pods in the given mode. */
function ipamdHostRules(mode: Mode): void {
  const s: HostNetSettings = {
    ipv6: false,
    vpcCidrs: ['10.0.0.0/16', '192.168.0.0/24'],
    excludeSnatCidrs: [],
    externalSnat: true,
    randomizeSnat: 'prng',
    nodePortSupport: false,
    connmark: 0x80,
    vethPrefix: 'eni',
    primaryIf: 'eth0',
    primaryIp: NODE_IP,
    v6Egress: false,
    v4Egress: true,
    externalServiceCidrs: [],
    podEniStrict: mode === 'strict',
  };
  const nl = Netlink.open(`/var/run/netns/${hostNs}`);
  try {
    applyHostRules(nl, s);
  } finally {
    nl.close();
  }
}

before(async () => {
  addNetns(hostNs);
  addNetns(fabricNs);
  // trunk ENI: node trunk0 <-> fabric fab0 (tagged); primary ENI: node eth0 <-> fabric vpc0 (untagged)
  ip(hostNs, ['link', 'add', 'trunk0', 'type', 'veth', 'peer', 'name', 'fab0', 'netns', fabricNs]);
  ip(hostNs, ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'vpc0', 'netns', fabricNs]);
  for (const [ns, l] of [
    [hostNs, 'trunk0'],
    [hostNs, 'eth0'],
    [fabricNs, 'fab0'],
    [fabricNs, 'vpc0'],
  ] as const)
    ip(ns, ['link', 'set', l, 'up']);
  ip(hostNs, ['addr', 'add', `${NODE_IP}/24`, 'dev', 'eth0']);
  ip(hostNs, ['route', 'add', 'default', 'via', '192.168.0.1', 'dev', 'eth0']);
  ip(fabricNs, ['addr', 'add', '192.168.0.1/24', 'dev', 'vpc0']);
  for (const ns of [hostNs, fabricNs])
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  trunkIndex = ipj<{ ifindex: number }>(hostNs, ['link', 'show', 'trunk0'])[0]?.ifindex ?? 0;
  await ipamd.start();
});

after(async () => {
  for (const p of pods) delNetns(p);
  delNetns(hostNs);
  delNetns(fabricNs);
  await ipamd.stop();
});

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
      assert.deepEqual(now.routes, base.routes, `${step}: routes`);
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

test('strict (ipamd moves the local rule to 20): all pod traffic, even to the node, crosses the branch ENI', async () => {
  ipamdHostRules('strict');
  const rules = hostState().rules;
  assert.ok(
    rules.some((r) => r.priority === 20 && r.table === 'local'),
    'local rule at 20',
  );
  assert.ok(!rules.some((r) => r.priority === 0 && r.table === 'local'), 'no local rule at 0');
  fabricBranch(21, '10.0.32.81');
  const pod = newPod();
  ipamd.onAdd = () => branchReply('10.0.32.81', 21);
  const add = await cni('ADD', 'c-tr', pod.path, 'tr-strict', 'strict');
  assert.equal(add.code, 0, add.stdout);
  const veth = hostVethName('vlan', 'default', 'tr-strict');
  const via = ip(hostNs, ['route', 'get', NODE_IP, 'from', '10.0.32.81', 'iif', veth]);
  assert.match(via, new RegExp(`via ${GW} dev vlan\\.eth\\.21 table 121`));

  const c0 = vlanCounters(21);
  assert.ok(ping(pod.name, GW), 'pod reaches its subnet router through VLAN 21');
  assert.ok(ping(pod.name, NODE_IP), 'pod reaches the node');
  const c1 = vlanCounters(21);
  // 2 pings to the router and 2 to the node left tagged on the trunk; router replies came back tagged
  assert.ok(c1.rx - c0.rx >= 4, `fabric received ${c1.rx - c0.rx} tagged packets`);
  assert.ok(c1.tx - c0.tx >= 2, `fabric sent ${c1.tx - c0.tx} tagged packets`);
  // a tagged frame is all that reaches the pod: with the VLAN sub-interface down, the pod is cut off
  ip(fabricNs, ['link', 'set', 'fab0.21', 'down']);
  assert.equal(ping(pod.name, NODE_IP, 1), false, 'no path to the node but the branch ENI');
  ip(fabricNs, ['link', 'set', 'fab0.21', 'up']);
  ipamd.onDel = () => ({});
  const del = await cni('DEL', 'c-tr', pod.path, 'tr-strict', 'strict', { prevResult: add.json });
  assert.equal(del.code, 0, del.stdout);
});

test('standard (ipamd puts the local rule back at 0): node-local traffic takes the veth, the rest the branch ENI', async () => {
  ipamdHostRules('standard');
  const rules = hostState().rules;
  assert.ok(
    rules.some((r) => r.priority === 0 && r.table === 'local'),
    'local rule at 0',
  );
  assert.ok(!rules.some((r) => r.priority === 20), 'no rule at 20');
  fabricBranch(22, '10.0.32.82');
  const pod = newPod();
  ipamd.onAdd = () => branchReply('10.0.32.82', 22);
  const add = await cni('ADD', 'c-trs', pod.path, 'tr-std', 'standard');
  assert.equal(add.code, 0, add.stdout);
  const veth = hostVethName('eni', 'default', 'tr-std');
  assert.match(ip(hostNs, ['route', 'get', NODE_IP, 'from', '10.0.32.82', 'iif', veth]), /^local /);

  const c0 = vlanCounters(22);
  assert.ok(ping(pod.name, NODE_IP), 'pod reaches the node');
  const c1 = vlanCounters(22);
  assert.equal(c1.rx - c0.rx, 0, 'node-local traffic did not cross the branch ENI');
  assert.ok(ping(pod.name, GW), 'pod reaches its subnet router through VLAN 22');
  const c2 = vlanCounters(22);
  assert.ok(c2.rx - c1.rx >= 2, `fabric received ${c2.rx - c1.rx} tagged packets`);
  ipamd.onDel = () => ({});
  const del = await cni('DEL', 'c-trs', pod.path, 'tr-std', 'standard', { prevResult: add.json });
  assert.equal(del.code, 0, del.stdout);
});
