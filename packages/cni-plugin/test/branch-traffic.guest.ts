// Branch-ENI pod traffic on a kernel with 802.1Q: the fabric netns sees the trunk's tagged frames on one
// sub-interface per branch ENI; strict vs standard routing with ipamd's own host rules; security groups per branch
// ENI with the fabric's own nftables renderer (e2e/src/vpc/security-groups.ts) over the simulator's world. A node:test file run by
// the VLAN lab (scripts/vlan-lab/README.md) from branch-pod.kernel.test.ts; the node is branch-node.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { securityGroupActions } from '../../../e2e/src/sim/actions-sg.js';
import { Faults } from '../../../e2e/src/sim/faults.js';
import { createEni } from '../../../e2e/src/sim/ops-eni.js';
import { Params } from '../../../e2e/src/sim/query.js';
import { World } from '../../../e2e/src/sim/world.js';
import { applySecurityGroups, renderSecurityGroups } from '../../../e2e/src/vpc/security-groups.js';
import { hostVethName } from '../src/names.js';
import {
  GW,
  NODE_IP,
  branchReply,
  cni,
  fabricBranch,
  fabricNs,
  hostNs,
  hostState,
  ip,
  ipamd,
  ipamdHostRules,
  newPod,
  ping,
  vlanCounters,
} from './branch-node.js';

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
  assert.ok(ping(pod.name, NODE_IP, 10), 'pod reaches the node');
  const c1 = vlanCounters(22);
  // 10 echo requests over the VLAN would count 10. IPv6 is off in the lab's namespaces (no solicitations or
  // MLD reports from the new links); an ARP exchange may still cross, so fewer than half is the bound.
  assert.ok(c1.rx - c0.rx < 5, `node-local traffic crossed the branch ENI (${c1.rx - c0.rx} tagged frames)`);
  assert.ok(ping(pod.name, GW), 'pod reaches its subnet router through VLAN 22');
  const c2 = vlanCounters(22);
  assert.ok(c2.rx - c1.rx >= 2, `fabric received ${c2.rx - c1.rx} tagged packets`);
  ipamd.onDel = () => ({});
  const del = await cni('DEL', 'c-trs', pod.path, 'tr-std', 'standard', { prevResult: add.json });
  assert.equal(del.code, 0, del.stdout);
});

/** Whether a TCP connection from `ns` to ip:port opens within 10 s of the probe's spawn (slow under TCG). */
function connects(ns: string, addr: string, port: number): boolean {
  try {
    execFileSync(
      'ip',
      ['netns', 'exec', ns, 'timeout', '10', 'bash', '-c', `exec 3<>/dev/tcp/${addr}/${port}`],
      {
        stdio: 'ignore',
      },
    );
    return true;
  } catch {
    return false;
  }
}

/** A TCP server on `ports` inside a pod (node, as the pods' workload). */
function serve(pod: string, ports: number[]): ChildProcess {
  const js = `for (const p of ${JSON.stringify(ports)}) require('net').createServer((s) => s.end('ok')).listen(p);`;
  return spawn('ip', ['netns', 'exec', pod, process.execPath, '-e', js], { stdio: 'ignore' });
}

async function until(what: string, fn: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

test('security groups per branch ENI, enforced by the fabric on its VLAN: allowed port, revoke, ordinary pod unaffected', async () => {
  ipamdHostRules('strict');
  // the world the simulator serves: the branch ENI in a group allowing tcp/8080 from the client's subnet; the
  // node's primary ENI (which carries the ordinary pod's address) in a group whose rules are not modelled
  const w = new World({
    vpc: { cidrs: ['10.0.0.0/16', '192.168.0.0/16', '10.99.0.0/16'] },
    subnets: [
      { cidr: '10.0.32.0/24', az: 'us-west-2a' },
      { cidr: '192.168.0.0/24', az: 'us-west-2a' },
    ],
    securityGroups: [
      {
        name: 'pod-sg',
        ingress: [{ protocol: 'tcp', fromPort: 8080, toPort: 8080, cidrs: ['10.99.0.0/24'], groups: [] }],
      },
      { name: 'node-sg' },
    ],
  });
  const [podSg, nodeSg] = [...w.groups.keys()];
  const [branchSubnet, nodeSubnet] = [...w.subnets.keys()];
  const branchEni = createEni(w, {
    subnetId: branchSubnet ?? '',
    groups: [podSg ?? ''],
    privateIp: '10.0.32.83',
    interfaceType: 'branch',
  });
  const nodeEni = createEni(w, {
    subnetId: nodeSubnet ?? '',
    groups: [nodeSg ?? ''],
    privateIp: NODE_IP,
    secondaryIps: ['192.168.0.50'],
  });
  const plugged = [
    { eniId: branchEni.id, link: 'fab0.23' },
    { eniId: nodeEni.id, link: 'vpc0' },
  ];

  // a client behind the fabric
  const client = newPod();
  ip(fabricNs, ['link', 'add', 'cli0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.name]);
  ip(fabricNs, ['addr', 'add', '10.99.0.1/24', 'dev', 'cli0']);
  ip(fabricNs, ['link', 'set', 'cli0', 'up']);
  ip(client.name, ['addr', 'add', '10.99.0.2/24', 'dev', 'eth0']);
  ip(client.name, ['link', 'set', 'eth0', 'up']);
  ip(client.name, ['route', 'add', 'default', 'via', '10.99.0.1']);

  // the branch pod (strict) and an ordinary pod on the primary ENI
  fabricBranch(23, '10.0.32.83');
  const branch = newPod();
  ipamd.onAdd = () => branchReply('10.0.32.83', 23);
  const addB = await cni('ADD', 'c-sgb', branch.path, 'sg-branch', 'strict');
  assert.equal(addB.code, 0, addB.stdout);
  const plain = newPod();
  ipamd.onAdd = () => ({
    IPAllocationMetadata: [{ IPv4Addr: '192.168.0.50', DeviceNumber: 0, RouteTableId: 254 }],
  });
  const addP = await cni('ADD', 'c-sgp', plain.path, 'sg-plain', 'strict');
  assert.equal(addP.code, 0, addP.stdout);
  const eth0Mac = hostState().links.find((l) => l.ifname === 'eth0')?.address ?? '';
  ip(fabricNs, ['neigh', 'replace', '192.168.0.50', 'lladdr', eth0Mac, 'dev', 'vpc0', 'nud', 'permanent']);

  applySecurityGroups(fabricNs, renderSecurityGroups(w, plugged));
  const servers = [serve(branch.name, [8080, 9090]), serve(plain.name, [8080, 9090])];
  try {
    await until('branch pod on its allowed port', () => connects(client.name, '10.0.32.83', 8080));
    await until('ordinary pod', () => connects(client.name, '192.168.0.50', 9090));
    assert.equal(
      connects(client.name, '10.0.32.83', 9090),
      false,
      'a port the group does not allow is closed',
    );

    const revoke = (action: 'RevokeSecurityGroupIngress' | 'AuthorizeSecurityGroupIngress') =>
      securityGroupActions[action]?.({
        w,
        faults: new Faults(),
        p: new Params(
          `GroupId=${podSg}&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=8080&IpPermissions.1.ToPort=8080` +
            '&IpPermissions.1.IpRanges.1.CidrIp=10.99.0.0/24',
        ),
      });
    await revoke('RevokeSecurityGroupIngress');
    applySecurityGroups(fabricNs, renderSecurityGroups(w, plugged)); // as the fabric does on every world change
    assert.equal(connects(client.name, '10.0.32.83', 8080), false, 'revoked: the branch pod is unreachable');
    // retried: a single probe can miss under TCG on a loaded machine
    await until('the ordinary pod is unaffected', () => connects(client.name, '192.168.0.50', 8080));
    await revoke('AuthorizeSecurityGroupIngress');
    applySecurityGroups(fabricNs, renderSecurityGroups(w, plugged));
    await until('authorized again', () => connects(client.name, '10.0.32.83', 8080));
  } finally {
    for (const s of servers) s.kill('SIGKILL');
  }
  ipamd.onDel = () => ({});
  for (const [cid, pod, name, prev] of [
    ['c-sgb', branch, 'sg-branch', addB.json],
    ['c-sgp', plain, 'sg-plain', addP.json],
  ] as const) {
    const del = await cni('DEL', cid, pod.path, name, 'strict', { prevResult: prev });
    assert.equal(del.code, 0, del.stdout);
  }
});
