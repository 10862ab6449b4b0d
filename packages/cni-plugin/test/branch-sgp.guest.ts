// Security groups for pods end to end on a kernel with 802.1Q: the real aws-k8s-agent (dist/bin) in a node of
// the VPC fabric (e2e/src/vpc) against the EC2 simulator and the Kubernetes stand-in, managing branch ENIs itself
// (VPC_CNI_MANAGE_BRANCH_ENIS=true); pods added and deleted by the real aws-cni as containerd runs it. The fabric
// carries each branch ENI's traffic on the trunk under the VLAN of the simulator's trunk association and enforces
// the branch ENI's security group there. A node:test file run by the VLAN lab (scripts/vlan-lab/README.md) from
// branch-pod.kernel.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeApiSim } from '../../../e2e/src/kube/index.js';
import { AgentProcess } from '../../../e2e/src/node/agent-process.js';
import { SimNode } from '../../../e2e/src/node/sim-node.js';
import { podEniOf } from '../../../e2e/src/node/pod-eni-kit.js';
import { Sim } from '../../../e2e/src/sim/sim.js';
import { trunkAssociations } from '../../../e2e/src/sim/ops-trunk.js';
import { SG_1, SG_2, SUBNET_A, SUBNET_B, smallWorld } from '../../../e2e/src/sim/testkit.js';
import { VpcFabric } from '../../../e2e/src/vpc/fabric.js';
import { addNetns, cniEnv, delNetns, ipj, runPlugin, uniq } from './harness.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const AGENT = join(ROOT, 'dist/bin/aws-k8s-agent');
const SGP = 'vpcresources.k8s.aws/securitygrouppolicies';
const PODS_SUBNET = 'subnet-0cccccccccccccccc';
const SG_PODS = 'sg-03333333333333333';
/** The client's subnet: the only source the pod group lets in, on tcp/8080 only. */
const CLIENT_CIDR = '10.0.2.0/27';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const execAsync = promisify(execFile);

/**
 * Whether a TCP connection from `ns` to addr:port opens within 10 s, counted from the probe's spawn (under TCG on a
 * loaded machine starting `ip netns exec … bash` alone can take seconds). Asynchronous, as everything slow here:
 * this process serves EC2, IMDS and the Kubernetes API to the node's ipamd.
 */
async function connects(ns: string, addr: string, port: number): Promise<boolean> {
  try {
    await execAsync('ip', [
      'netns',
      'exec',
      ns,
      'timeout',
      '10',
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${addr}/${port}`,
    ]);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(300);
  }
}

/** A TCP server on `ports` in a pod (node, as the pod's workload). */
function serve(pod: string, ports: number[]): ChildProcess {
  const js = `for (const p of ${JSON.stringify(ports)}) require('net').createServer((s) => s.end('ok')).listen(p);`;
  return spawn('ip', ['netns', 'exec', pod, process.execPath, '-e', js], { stdio: 'ignore' });
}

/** Packets the fabric sent on a link (the branch ENI's VLAN sub-interface). */
function txPackets(ns: string, link: string): number {
  const l = ipj<{ stats64: { tx: { packets: number } } }>(ns, ['-s', 'link', 'show', link])[0];
  return l?.stats64.tx.packets ?? -1;
}

/** One EC2 Query call to the simulator, as the SDK sends it (form body); throws on an EC2 error. */
async function ec2(sim: Sim, params: Record<string, string>): Promise<void> {
  const r = await fetch(sim.ec2Url, { method: 'POST', body: new URLSearchParams(params) });
  if (!r.ok) throw new Error(`${params['Action']}: ${r.status} ${await r.text()}`);
}

const port8080 = (sg: string) => ({
  GroupId: sg,
  'IpPermissions.1.IpProtocol': 'tcp',
  'IpPermissions.1.FromPort': '8080',
  'IpPermissions.1.ToPort': '8080',
  'IpPermissions.1.IpRanges.1.CidrIp': CLIENT_CIDR,
});

/**
 * The node (m5.large in SUBNET_A, real aws-k8s-agent managing its trunk and branch ENIs), a client instance in
 * CLIENT_CIDR, SecurityGroupPolicy `web` → SG_2 (tcp/8080 from the client only); with `custom`, an ENIConfig
 * putting pods (and so the trunk and branch ENIs) in PODS_SUBNET. Runs `body`, then removes everything.
 */
async function withSgpNode(
  custom: boolean,
  body: (n: {
    sim: Sim;
    kube: KubeApiSim;
    fabric: VpcFabric;
    nodeNs: string;
    clientNs: string;
    cni: (cmd: 'ADD' | 'DEL', pod: string, netns: string, prev?: unknown) => ReturnType<typeof runPlugin>;
    newPod: (name: string, role?: string) => string;
  }) => Promise<void>,
): Promise<void> {
  const sim = await Sim.start(
    smallWorld({
      subnets: [
        { id: SUBNET_A, cidr: '10.0.1.0/24', az: 'us-west-2a' },
        { id: SUBNET_B, cidr: CLIENT_CIDR, az: 'us-west-2a' },
        ...(custom ? [{ id: PODS_SUBNET, cidr: '100.64.0.0/19', az: 'us-west-2a' }] : []),
      ],
      securityGroups: [
        { id: SG_1, name: 'nodes' }, // rules not modelled: everything in
        { id: SG_2, name: 'web', ingress: [] },
        { id: SG_PODS, name: 'pods' },
      ],
    }),
  );
  const cleanups: (() => Promise<void> | void)[] = [() => sim.stop()];
  const logs: string[] = [];
  const diagNs: string[] = [];
  try {
    await ec2(sim, { Action: 'AuthorizeSecurityGroupIngress', ...port8080(SG_2) });
    const fabric = VpcFabric.create(sim);
    cleanups.push(() => fabric.destroy());
    const kube = await KubeApiSim.start();
    cleanups.push(() => kube.stop());
    kube.put('nodes', {
      metadata: {
        name: 'node-a',
        ...(custom ? { labels: { 'k8s.amazonaws.com/eniConfig': 'pods-a' } } : {}),
      },
    });
    if (custom)
      kube.put('crd.k8s.amazonaws.com/eniconfigs', {
        metadata: { name: 'pods-a' },
        spec: { subnet: PODS_SUBNET, securityGroups: [SG_PODS] },
      });
    kube.api.store.create(SGP, 'shop', {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { role: 'web' } }, securityGroups: { groupIds: [SG_2] } },
    });
    const n = await sim.launch({ type: 'm5.large', subnetId: SUBNET_A, groups: [SG_1] });
    const c = await sim.launch({ type: 'm5.large', subnetId: SUBNET_B, groups: [SG_1] });
    const nodeNs = fabric.nodeNetns(n.instance.id);
    diagNs.push(nodeNs, fabric.fabricNs);
    // what the node's OS sets for kubelet (the aws-node pod does not)
    execFileSync('ip', ['netns', 'exec', nodeNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    const node = new SimNode({
      sim,
      node: n,
      netns: nodeNs,
      agentBinary: AGENT,
      kube: { sim: kube, nodeName: 'node-a' },
      env: {
        ENABLE_POD_ENI: 'true',
        VPC_CNI_MANAGE_BRANCH_ENIS: 'true',
        POD_SECURITY_GROUP_ENFORCING_MODE: 'strict',
        WARM_ENI_TARGET: '0',
        WARM_IP_TARGET: '2',
        AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', // the lab's client is in the VPC: no SNAT rules needed
        ...(custom ? { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' } : {}),
      },
    });
    cleanups.push(() => node.stop());
    logs.push(node.log, join(node.dir, 'plugin.log'), join(node.dir, 'agent.out'));
    // as node.startAgent() does, with the agent's own output kept and TCG's pace allowed for
    await node.connect();
    // warm the node's path to IMDS (proxy in the node netns → this process) as a booted node's would be: its
    // first requests compile code on every hop, which under TCG can exceed ipamd's 1 s IMDS timeout
    const warm: string[] = [];
    for (let i = 0; i < 3; i++)
      warm.push(
        (
          await execAsync('ip', [
            'netns',
            'exec',
            nodeNs,
            'curl',
            '-s',
            '-o',
            '/dev/null',
            '-m',
            '20',
            '-w',
            '%{time_total}',
            'http://169.254.169.254/latest/meta-data/mac',
          ])
        ).stdout, // async: this process serves IMDS
      );
    console.log(`IMDS from the node: ${warm.join(' s, ')} s`);
    const t0 = Date.now();
    // An agent that cannot start exits non-zero and kubelet restarts the aws-node container: under TCG on a
    // loaded machine its first IMDS requests can miss their 1 s timeout (its own code still compiling).
    for (let attempt = 1; ; attempt++) {
      node.agent = new AgentProcess({
        binary: AGENT,
        netnsPath: node.netnsPath,
        env: node.agentEnv(),
        socket: node.socket,
        log: node.log,
        outputFile: join(node.dir, 'agent.out'),
        readyTimeoutMs: 300_000,
      });
      try {
        await node.agent.start();
        break;
      } catch (e) {
        if (attempt === 3 || !/exited \(/.test(String(e))) throw e;
        console.log(
          `aws-k8s-agent start ${attempt} failed, restarting as kubelet would: ${String(e).slice(0, 300)}`,
        );
      }
    }
    console.log(`aws-k8s-agent SERVING after ${Date.now() - t0} ms`);
    const netconf = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'aws-cni',
      type: 'aws-cni',
      vethPrefix: 'eni',
      mtu: '9001',
      podSGEnforcingMode: 'strict',
      pluginLogFile: join(node.dir, 'plugin.log'),
      pluginLogLevel: 'debug',
      ipamdEndpoint: `unix://${node.socket}`,
    });
    const pods: string[] = [];
    cleanups.push(() => pods.forEach(delNetns));
    await body({
      sim,
      kube,
      fabric,
      nodeNs,
      clientNs: fabric.nodeNetns(c.instance.id),
      cni: (cmd, pod, netns, prev) =>
        runPlugin(
          nodeNs,
          {
            ...cniEnv(cmd, `c-${pod}`, netns, pod, 'shop'),
            // kubelet sends the pod's UID: ipamd refuses to tear down a branch ENI for another pod of that name
            CNI_ARGS:
              `IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=${pod};K8S_POD_INFRA_CONTAINER_ID=c-${pod};` +
              `K8S_POD_UID=${String(kube.api.store.get('/pods', 'shop', pod).metadata['uid'])}`,
          },
          prev === undefined ? netconf : JSON.stringify({ ...JSON.parse(netconf), prevResult: prev }),
        ),
      newPod: (name, role) => {
        kube.put(
          'pods',
          {
            metadata: { name, ...(role ? { labels: { role } } : {}) },
            spec: { nodeName: 'node-a', containers: [{ name: 'c' }] },
          },
          'shop',
        );
        const ns = uniq(name);
        pods.push(ns);
        addNetns(ns);
        return ns;
      },
    });
    assert.equal(fabric.vlanError, undefined);
    assert.equal(fabric.sgError, undefined);
  } catch (e) {
    const show = (ns: string | undefined, cmd: string) => {
      try {
        return ns ? execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { encoding: 'utf8' }) : '';
      } catch (x) {
        return String(x);
      }
    };
    const diag =
      `--- node ---\n${show(diagNs[0], 'ip -br addr; ip -d -br link; ip rule; ip route show table all; sysctl net.ipv4.ip_forward')}` +
      `--- fabric ---\n${show(diagNs[1], 'ip -br addr; ip route; ip -s -br link; nft list ruleset')}`;
    console.log(diag);
    throw new Error(
      `${String(e)}\n--- ipamd log (last lines) ---\n${logTail(logs[0])}\n--- plugin log ---\n${logTail(logs[1])}\n--- agent output ---\n${logTail(logs[2])}`,
    );
  } finally {
    for (const f of cleanups.reverse()) await f();
  }
}

/** The last lines of a log file, for a failure's message (the node's directory is gone afterwards). */
function logTail(file: string | undefined, lines = 25): string {
  try {
    return readFileSync(file ?? '', 'utf8')
      .trim()
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '(none)';
  }
}

for (const custom of [false, true])
  test(
    `${custom ? 'custom networking + ' : ''}security groups for pods with the real ipamd: a branch ENI ` +
      `${custom ? 'in the ENIConfig subnet ' : ''}per matching pod, its group enforced on the trunk's VLAN ` +
      '(allowed port, revoke), an ordinary pod unaffected, pod deletion deletes the branch ENI',
    async () => {
      await withSgpNode(custom, async ({ sim, kube, fabric, nodeNs, clientNs, cni, newPod }) => {
        const web = newPod('web', 'web');
        const plain = newPod('plain');
        // kubelet retries a refused ADD: ipamd may still be attaching the trunk
        let addW = await cni('ADD', 'web', `/var/run/netns/${web}`);
        for (const end = Date.now() + 60_000; addW.code !== 0 && Date.now() < end;) {
          await sleep(1_000);
          addW = await cni('ADD', 'web', `/var/run/netns/${web}`);
        }
        assert.equal(addW.code, 0, `ADD web: ${addW.stdout}${addW.stderr}`);
        const addP = await cni('ADD', 'plain', `/var/run/netns/${plain}`);
        assert.equal(addP.code, 0, `ADD plain: ${addP.stdout}${addP.stderr}`);

        // EC2: the trunk ipamd attached, the branch ENI with the policy's group, associated under a VLAN
        const trunk = [...sim.world.enis.values()].find((e) => e.interfaceType === 'trunk');
        assert.ok(trunk, 'a trunk ENI');
        const entry = podEniOf(kube, 'shop', 'web')?.[0];
        assert.ok(entry, 'pod-eni annotation');
        const branch = sim.world.eni(entry.eniId);
        const subnet = custom ? PODS_SUBNET : SUBNET_A;
        assert.deepEqual(
          [branch.interfaceType, branch.groups, branch.subnetId, trunk.subnetId],
          ['branch', [SG_2], subnet, subnet],
        );
        const assoc = [...trunkAssociations(sim.world).values()].find((a) => a.branchId === branch.id);
        assert.deepEqual([assoc?.trunkId, assoc?.vlanId], [trunk.id, entry.vlanId]);
        const webIp = branch.primaryIp;
        const plainIp = (addP.json?.['ips'] as { address: string }[])[0]?.address.split('/')[0] ?? '';
        if (custom) assert.match(`${webIp} ${plainIp}`, /^100\.64\.\d+\.\d+ 100\.64\.\d+\.\d+$/);

        // the node: aws-cni's VLAN link on the trunk's link (the ENI's MAC), carrying the branch ENI's MAC
        const links = ipj<{ ifname: string; address: string; link?: string }>(nodeNs, ['-d', 'link', 'show']);
        const vlanLink = links.find((l) => l.ifname === `vlan.eth.${entry.vlanId}`);
        const trunkLink = links.find((l) => l.address === trunk.mac);
        assert.ok(vlanLink && trunkLink, `vlan.eth.${entry.vlanId} and the trunk link in the node`);
        assert.deepEqual([vlanLink.link, vlanLink.address], [trunkLink.ifname, branch.mac]);

        // traffic: the client reaches the branch pod on tcp/8080 only, over the branch ENI's VLAN; the ordinary
        // pod on any port
        const servers = [serve(web, [8080, 9090]), serve(plain, [8080, 9090])];
        try {
          const sub = () =>
            ipj<{ ifname: string }>(fabric.fabricNs, ['link', 'show']).find((l) =>
              l.ifname.endsWith(`.${entry.vlanId}`),
            )?.ifname;
          await until('the fabric plugs the branch ENI', () => sub() !== undefined, 10_000);
          const vlanSub = sub() ?? '';
          const tx0 = txPackets(fabric.fabricNs, vlanSub);
          await until('branch pod on its allowed port', () => connects(clientNs, webIp, 8080));
          assert.ok(txPackets(fabric.fabricNs, vlanSub) - tx0 >= 3, 'the connection crossed the VLAN');
          await until('ordinary pod', () => connects(clientNs, plainIp, 9090));
          assert.equal(
            await connects(clientNs, webIp, 9090),
            false,
            'a port the group does not allow is closed',
          );

          await ec2(sim, { Action: 'RevokeSecurityGroupIngress', ...port8080(SG_2) });
          await until(
            'revoked: branch pod unreachable',
            async () => !(await connects(clientNs, webIp, 8080)),
            10_000,
          );
          // retried: a single probe can miss under TCG on a loaded machine
          await until('the ordinary pod is unaffected', () => connects(clientNs, plainIp, 8080));
        } finally {
          for (const s of servers) s.kill('SIGKILL');
        }

        // Pod deleted: containerd's DEL (with the cached result: aws-cni tears the VLAN link down from it), the
        // pod gone from the API: ipamd's pod watch deletes the branch ENI in EC2, and the fabric's sub-interface
        // goes with the association
        const delW = await cni('DEL', 'web', `/var/run/netns/${web}`, addW.json);
        assert.equal(delW.code, 0, `DEL web: ${delW.stdout}${delW.stderr}`);
        assert.equal(
          ipj(nodeNs, ['link', 'show']).some((l) => l['ifname'] === `vlan.eth.${entry.vlanId}`),
          false,
        );
        kube.api.store.delete('/pods', 'shop', 'web');
        await until('branch ENI deleted', () => !sim.world.enis.has(branch.id), 60_000);
        fabric.sync();
        assert.equal(
          ipj(fabric.fabricNs, ['link', 'show']).some((l) =>
            String(l['ifname']).endsWith(`.${entry.vlanId}`),
          ),
          false,
        );
        const delP = await cni('DEL', 'plain', `/var/run/netns/${plain}`, addP.json);
        assert.equal(delP.code, 0, `DEL plain: ${delP.stdout}${delP.stderr}`);
      });
    },
  );
