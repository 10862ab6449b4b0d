// egress-cni executed as containerd runs it (the real single executable, env + stdin, inside a throwaway "node"
// netns), both directions: ADD wires the egress veth and the SNAT chain (checked with ip -j and iptables-save),
// a ping from the pod reaches an "outside" netns that knows only the node's address, CHECK passes, a repeated ADD
// converges, DEL (also without a netns, also repeated) leaves nothing, and a failure injected at every step of
// an ADD leaves the node and pod exactly as before, with the address released.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNetns, delNetns, ipj, runPlugin, uniq } from './harness.js';

const BIN = resolve(import.meta.dirname, '../../../dist/bin/egress-cni');
const hostNs = uniq('egh');
const outNs = uniq('ego');
const pods: string[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'egress-kernel-'));
const NODE4 = '10.99.0.1';
const OUT4 = '10.99.0.2';
const NODE6 = '2001:db8:99::1';
const OUT6 = '2001:db8:99::2';

const ipn = (ns: string, ...a: string[]) => execFileSync('ip', ['-n', ns, ...a], { stdio: 'pipe' });
const inNs = (ns: string, cmd: string, ...a: string[]) =>
  execFileSync('ip', ['netns', 'exec', ns, cmd, ...a], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

beforeAll(() => {
  addNetns(hostNs);
  addNetns(outNs);
  // The node's uplink: the outside knows the node's own addresses only (as an internet gateway would).
  ipn(hostNs, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'out0', 'netns', outNs);
  ipn(hostNs, 'addr', 'add', `${NODE4}/32`, 'dev', 'up0');
  ipn(hostNs, 'addr', 'add', `${NODE6}/128`, 'dev', 'up0', 'nodad');
  ipn(outNs, 'addr', 'add', `${OUT4}/32`, 'dev', 'out0');
  ipn(outNs, 'addr', 'add', `${OUT6}/128`, 'dev', 'out0', 'nodad');
  for (const ns of [hostNs, outNs]) ipn(ns, 'link', 'set', ns === hostNs ? 'up0' : 'out0', 'up');
  ipn(hostNs, 'route', 'add', `${OUT4}/32`, 'dev', 'up0');
  ipn(hostNs, 'route', 'add', `${OUT6}/128`, 'dev', 'up0');
  ipn(outNs, 'route', 'add', `${NODE4}/32`, 'dev', 'out0');
  ipn(outNs, 'route', 'add', `${NODE6}/128`, 'dev', 'out0');
  // IPv6 forwarding is the init container's job on a node (aws-vpc-cni-init); IPv4's is egress-cni's own.
  inNs(hostNs, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1');
});

afterAll(() => {
  for (const p of pods) delNetns(p);
  delNetns(hostNs);
  delNetns(outNs);
  rmSync(dataDir, { recursive: true, force: true });
});

/** A pod netns with eth0 (a veth stand-in for aws-cni's interface). */
function newPod(): { name: string; path: string } {
  const name = uniq('egp');
  pods.push(name);
  const path = addNetns(name);
  ipn(name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ipn(name, 'link', 'set', 'eth0', 'up');
  return { name, path };
}

type Dir = { family: 4 | 6; nodeIP: string; outside: string; subnet: string; dst: string; contIf: string };
const V4: Dir = {
  family: 4,
  nodeIP: NODE4,
  outside: OUT4,
  subnet: '169.254.172.0/22',
  dst: '0.0.0.0/0',
  contIf: 'v4if0',
};
const V6: Dir = {
  family: 6,
  nodeIP: NODE6,
  outside: OUT6,
  subnet: 'fd00::ac:00/118',
  dst: '::/0',
  contIf: 'v6if0',
};

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eni0761ccbeace' }, { name: 'eth0', sandbox: '/x' }],
  ips: [{ address: '10.0.5.5/32', interface: 1 }],
};
const conf = (d: Dir, prev: unknown = prevResult) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'aws-cni',
    type: 'egress-cni',
    mtu: '9001',
    enabled: 'true',
    randomizeSNAT: 'prng',
    nodeIP: d.nodeIP,
    ipam: { type: 'host-local', ranges: [[{ subnet: d.subnet }]], routes: [{ dst: d.dst }], dataDir },
    pluginLogFile: join(dataDir, 'egress.log'),
    pluginLogLevel: 'debug',
    prevResult: prev,
  });
const env = (cmd: string, cid: string, netns: string, extra: Record<string, string> = {}) => ({
  CNI_COMMAND: cmd,
  CNI_CONTAINERID: cid,
  CNI_NETNS: netns,
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/usr/lib/cni',
  ...extra,
});
const egress = (cmd: string, cid: string, netns: string, stdin: string, extra: Record<string, string> = {}) =>
  runPlugin(hostNs, env(cmd, cid, netns, extra), stdin, [BIN]);

const save = (f: 4 | 6) => inNs(hostNs, f === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'nat');
const natLines = (f: 4 | 6) =>
  save(f)
    .split('\n')
    .filter((l) => l.startsWith('-A') || (l.startsWith(':') && !/ (ACCEPT|DROP) /.test(l)));
const hostLinks = () => ipj<{ ifname: string }>(hostNs, ['link', 'show']).map((l) => l.ifname);
const reserved = () => {
  const d = join(dataDir, 'aws-cni');
  return existsSync(d) ? readdirSync(d).filter((n) => n !== 'last_reserved_ip.0') : [];
};
const podLinks = (ns: string) => ipj<{ ifname: string }>(ns, ['link', 'show']).map((l) => l.ifname);
const ping = (ns: string, ip: string) =>
  spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '3', ip], { encoding: 'utf8' }).status === 0;

describe.skipIf(!existsSync(BIN))('egress-cni in throwaway netns', () => {
  describe.each([
    ['IPv4 egress for an IPv6 pod', V4],
    ['IPv6 egress for an IPv4 pod', V6],
  ])('%s', (_title, d) => {
    it('ADD wires the pod and the SNAT chain; the pod reaches an outside host that knows only the node', async () => {
      const pod = newPod();
      const cid = `c-add-${d.family}`;
      const add = await egress('ADD', cid, pod.path, conf(d));
      expect(add.code, add.stdout + add.stderr).toBe(0);
      const result = add.json as { interfaces: { name: string; mac?: string; sandbox?: string }[] };
      const [hostIf, contIf] = result.interfaces.slice(-2);
      expect(contIf).toMatchObject({ name: d.contIf, sandbox: pod.path });
      expect(hostIf?.name).toMatch(/^veth[0-9a-f]{8}$/);
      const ip = d.family === 4 ? '169.254.172.2' : 'fd00::ac:2';
      const addrs = ipj<{ addr_info: { local: string; prefixlen: number; scope: string }[] }>(pod.name, [
        `-${d.family}`,
        'addr',
        'show',
        d.contIf,
      ])[0]?.addr_info;
      expect(addrs).toContainEqual(
        expect.objectContaining({ local: ip, prefixlen: d.family === 4 ? 22 : 118 }),
      );
      const podLink = ipj<{ address: string; mtu: number }>(pod.name, ['link', 'show', d.contIf])[0];
      expect(podLink).toMatchObject({ address: contIf?.mac, mtu: 9001 });
      const podRoutes = ipj<{ dst: string; gateway?: string; prefsrc?: string }>(pod.name, [
        `-${d.family}`,
        'route',
        'show',
      ]);
      const hostRoutes = ipj<{ dst: string; dev: string }>(hostNs, [`-${d.family}`, 'route', 'show']);
      expect(hostRoutes).toContainEqual(expect.objectContaining({ dst: ip, dev: hostIf?.name }));
      if (d.family === 4) {
        expect(podRoutes).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ dst: 'default', gateway: '169.254.172.1' }),
            expect.objectContaining({ dst: '169.254.172.1', prefsrc: ip }),
            expect.objectContaining({ dst: '169.254.172.0/22', gateway: '169.254.172.1', prefsrc: ip }),
          ]),
        );
        expect(ipj(hostNs, ['-4', 'addr', 'show', hostIf?.name ?? ''])[0]).toMatchObject({
          addr_info: [expect.objectContaining({ local: '169.254.172.1', prefixlen: 32, scope: 'link' })],
        });
        expect(inNs(hostNs, 'sysctl', '-n', 'net.ipv4.ip_forward').trim()).toBe('1');
      } else {
        expect(podRoutes).toContainEqual(
          expect.objectContaining({ dst: 'default', gateway: expect.stringMatching(/^fe80::/) }),
        );
        expect(inNs(pod.name, 'sysctl', '-n', 'net.ipv6.conf.eth0.disable_ipv6').trim()).toBe('1');
      }
      const chain = /:(CNI-E[46]-[0-9a-f]{21}) /.exec(save(d.family))?.[1] ?? '';
      const comment = `-m comment --comment "name: \\"aws-cni\\" id: \\"${cid}\\""`;
      expect(natLines(d.family)).toEqual([
        `:${chain} - [0:0]`,
        `-A POSTROUTING -s ${ip}/${d.family === 4 ? 32 : 128} ${comment} -j ${chain}`,
        `-A ${chain} -d ${d.family === 4 ? '224.0.0.0/4' : 'ff00::/8'} ${comment} -j ACCEPT`,
        `-A ${chain} ${comment} -j SNAT --to-source ${d.nodeIP} --random-fully`,
      ]);
      expect(reserved()).toEqual([ip]);

      // Real traffic: the outside host has a route to the node's address only, so a reply proves the SNAT.
      expect(ping(pod.name, d.outside)).toBe(true);

      const check = await egress('CHECK', cid, pod.path, conf(d, add.json));
      expect(check.code, check.stdout).toBe(0);

      // Repeated ADD converges: same address, one veth, the same rules.
      const before = natLines(d.family);
      const again = await egress('ADD', cid, pod.path, conf(d));
      expect(again.code, again.stdout).toBe(0);
      expect(natLines(d.family)).toEqual(before);
      expect(reserved()).toEqual([ip]);
      expect(hostLinks().filter((l) => l.startsWith('veth'))).toHaveLength(1);
      expect(ping(pod.name, d.outside)).toBe(true);

      // CHECK notices a removed rule.
      const jump = before.find((l) => l.startsWith('-A POSTROUTING')) ?? '';
      inNs(
        hostNs,
        d.family === 4 ? 'iptables' : 'ip6tables',
        '-t',
        'nat',
        ...splitRule(jump.replace('-A', '-D')),
      );
      const broken = await egress('CHECK', cid, pod.path, conf(d, again.json));
      expect(broken.json).toMatchObject({
        code: 999,
        msg: expect.stringMatching(/POSTROUTING jump missing/),
      });

      // DEL leaves nothing; a repeated DEL succeeds.
      for (let i = 0; i < 2; i++) {
        const del = await egress('DEL', cid, pod.path, conf(d, again.json));
        expect(del.code, del.stdout).toBe(0);
      }
      expect(natLines(d.family)).toEqual([]);
      expect(hostLinks().filter((l) => l.startsWith('veth'))).toEqual([]);
      expect(podLinks(pod.name).sort()).toEqual(['eth0', 'eth0p', 'lo']);
      expect(ipj(hostNs, [`-${d.family}`, 'route', 'show', ip])).toEqual([]);
      expect(reserved()).toEqual([]);
    });

    it('DEL after the netns is gone still removes the SNAT chain and releases the address', async () => {
      const pod = newPod();
      const cid = `c-gone-${d.family}`;
      const add = await egress('ADD', cid, pod.path, conf(d));
      expect(add.code, add.stdout).toBe(0);
      delNetns(pod.name);
      const del = await egress('DEL', cid, '', conf(d, add.json));
      expect(del.code, del.stdout).toBe(0);
      expect(natLines(d.family)).toEqual([]);
      expect(hostLinks().filter((l) => l.startsWith('veth'))).toEqual([]);
      expect(reserved()).toEqual([]);
    });

    it('a failure injected at every step of ADD leaves node and pod as before, address released', async () => {
      const steps = d.family === 4 ? 14 : 15; // the plans pinned by egress-plan.test.ts
      const baseline = {
        links: hostLinks(),
        nat: natLines(d.family),
        routes: ipj(hostNs, [`-${d.family}`, 'route']),
      };
      for (let k = 1; k <= steps + 1; k++) {
        const pod = newPod();
        const add = await egress('ADD', `c-inj-${d.family}-${k}`, pod.path, conf(d), {
          EGRESS_CNI_TEST_FAIL_AT_OP: String(k),
        });
        if (k > steps) {
          // One past the last step: nothing fails, so the injection really covered every step.
          expect(add.code, add.stdout).toBe(0);
          await egress('DEL', `c-inj-${d.family}-${k}`, pod.path, conf(d, add.json));
          continue;
        }
        expect(add.json, `step ${k}`).toMatchObject({
          code: 999,
          msg: expect.stringContaining(`injected failure at op ${k}`),
        });
        expect(hostLinks(), `step ${k}`).toEqual(baseline.links);
        expect(natLines(d.family), `step ${k}`).toEqual(baseline.nat);
        expect(ipj(hostNs, [`-${d.family}`, 'route']), `step ${k}`).toEqual(baseline.routes);
        expect(podLinks(pod.name).sort(), `step ${k}`).toEqual(['eth0', 'eth0p', 'lo']);
        expect(reserved(), `step ${k}`).toEqual([]);
      }
    });
  });

  it('concurrent ADDs get distinct addresses and chains; concurrent DELs leave nothing', async () => {
    const n = 6;
    const ps = Array.from({ length: n }, () => newPod());
    const adds = await Promise.all(ps.map((p, i) => egress('ADD', `c-par-${i}`, p.path, conf(V4))));
    for (const a of adds) expect(a.code, a.stdout).toBe(0);
    const ips = ps.map(
      (p) =>
        ipj<{ addr_info: { local: string }[] }>(p.name, ['-4', 'addr', 'show', 'v4if0'])[0]?.addr_info[0]
          ?.local,
    );
    expect(new Set(ips).size).toBe(n);
    expect(reserved().sort()).toEqual([...ips].sort());
    expect(natLines(4).filter((l) => l.startsWith('-A POSTROUTING'))).toHaveLength(n);
    for (const p of ps) expect(ping(p.name, OUT4)).toBe(true);
    const dels = await Promise.all(
      ps.map((p, i) => egress('DEL', `c-par-${i}`, p.path, conf(V4, adds[i]?.json))),
    );
    for (const d of dels) expect(d.code, d.stdout).toBe(0);
    expect(natLines(4)).toEqual([]);
    expect(hostLinks().filter((l) => l.startsWith('veth'))).toEqual([]);
    expect(reserved()).toEqual([]);
  });

  it('hostile config: code 7 naming the key, nothing changed', async () => {
    const pod = newPod();
    const deep = conf(V4).replace('"mtu":"9001"', `"mtu":${'['.repeat(5000)}${']'.repeat(5000)}`);
    const r = await egress('ADD', 'c-bad', pod.path, deep);
    expect(r.json).toMatchObject({ code: 7, msg: 'egress-cni: invalid "mtu": an array of 1 element' });
    expect(r.stderr).toBe('');
    expect(podLinks(pod.name).sort()).toEqual(['eth0', 'eth0p', 'lo']);
    expect(reserved()).toEqual([]);
  });
});

/** An iptables-save rule line split into arguments (quoted comment kept as one argument, unescaped). */
function splitRule(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line))
    out.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : (m[2] ?? ''));
  return out;
}
