// Host networking applied in a throwaway node netns: iptables-save matches the desired rules, re-applying is a
// no-op, toggling a setting converges, other tools' rules are untouched, and real traffic from a pod netns to an
// "outside" netns leaves with the node's address (SNAT) — or with the pod's under external SNAT.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectBackend, iptablesRunner, parseSave } from '@vpc-cni/shared/iptables';
import { type TestNetns, createTestNetns } from '../../shared/test/netns-fixture.js';
import { type HostNetSettings, applyHostNetwork } from '../src/hostnet/index.js';

const settings: HostNetSettings = {
  ipv6: false,
  vpcCidrs: ['10.0.0.0/16'],
  excludeSnatCidrs: ['192.168.0.0/16'],
  externalSnat: false,
  randomizeSnat: 'prng',
  nodePortSupport: true,
  connmark: 0x80,
  vethPrefix: 'eni',
  primaryIf: 'eth0',
  primaryIp: '10.0.0.5',
  v6Egress: false,
  v4Egress: false,
  externalServiceCidrs: ['172.20.0.0/16'],
  podEniStrict: false,
};

describe('host networking (kernel)', () => {
  let node: TestNetns;
  let pod: TestNetns;
  let outside: TestNetns;
  const save = () => parseSave(node.ip(['netns', 'exec', node.name, 'iptables-save']));

  beforeAll(() => {
    node = createTestNetns('hn-node');
    pod = createTestNetns('hn-pod');
    outside = createTestNetns('hn-out');
    node.ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'o0', 'netns', outside.name]);
    node.ip(['addr', 'add', '10.0.0.5/24', 'dev', 'eth0']);
    node.ip(['link', 'set', 'eth0', 'up']);
    node.ip(['route', 'add', '198.51.100.7/32', 'dev', 'eth0']);
    outside.ip(['addr', 'add', '198.51.100.7/32', 'dev', 'o0']);
    outside.ip(['link', 'set', 'o0', 'up']);
    outside.ip(['route', 'add', '10.0.0.5/32', 'dev', 'o0']); // the internet knows only the node's address
    node.ip(['link', 'add', 'eni0761ccbeace', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name]);
    node.ip(['link', 'set', 'eni0761ccbeace', 'up']);
    node.ip(['route', 'add', '10.0.2.9/32', 'dev', 'eni0761ccbeace', 'scope', 'link']);
    pod.ip(['addr', 'add', '10.0.2.9/32', 'dev', 'eth0']);
    pod.ip(['link', 'set', 'eth0', 'up']);
    pod.ip(['link', 'set', 'lo', 'up']);
    pod.ip(['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    pod.ip(['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    const mac = node.ipj<{ address: string }>(['link', 'show', 'eni0761ccbeace'])[0]?.address ?? '';
    pod.ip(['neigh', 'add', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent']);
    execFileSync('ip', ['netns', 'exec', node.name, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    execFileSync('ip', ['netns', 'exec', node.name, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.proxy_arp=0']);
    // Another tool's rules, which must survive everything below.
    execFileSync('ip', [
      'netns',
      'exec',
      node.name,
      'iptables',
      '-t',
      'nat',
      '-A',
      'POSTROUTING',
      '-s',
      '172.17.0.0/16',
      '-j',
      'MASQUERADE',
    ]);
    execFileSync('ip', [
      'netns',
      'exec',
      node.name,
      'iptables',
      '-t',
      'mangle',
      '-A',
      'PREROUTING',
      '-i',
      'docker0',
      '-j',
      'ACCEPT',
    ]);
  });
  afterAll(() => {
    for (const ns of [node, pod, outside]) ns?.remove();
  });

  const ping = () => {
    try {
      execFileSync('ip', ['netns', 'exec', pod.name, 'ping', '-c', '1', '-W', '1', '198.51.100.7'], {
        stdio: 'ignore',
      });
      return true;
    } catch {
      return false;
    }
  };

  it('applies the SNAT, connmark and mangle rules and the policy rules', () => {
    const r = applyHostNetwork(settings, { netnsPath: node.path });
    expect(r.v4).not.toBe('');
    const nat = save().get('nat');
    expect(nat?.get('AWS-SNAT-CHAIN-0')?.rules).toEqual([
      '-d 192.168.0.0/16 -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN',
      '-d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
      '! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.0.5 --random-fully',
    ]);
    expect(nat?.get('POSTROUTING')?.rules).toEqual([
      '-s 172.17.0.0/16 -j MASQUERADE',
      '-m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0',
    ]);
    expect(nat?.get('AWS-CONNMARK-CHAIN-0')?.rules.at(-1)).toBe(
      '-m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80/0x80',
    );
    expect(save().get('mangle')?.get('PREROUTING')?.rules).toHaveLength(4);
    const rules = node.ipj<{ priority: number; fwmark?: string; dst?: string; table: string }>([
      'rule',
      'show',
    ]);
    expect(rules.find((x) => x.priority === 1024)).toMatchObject({ fwmark: '0x80', table: 'main' });
    expect(rules.find((x) => x.priority === 1535)).toMatchObject({ dst: '172.20.0.0', table: 'main' });
  });

  it('re-applying changes nothing', () => {
    const runner = iptablesRunner(node.path);
    const r = applyHostNetwork(settings, { netnsPath: node.path, runner });
    expect([r.v4, r.v6, r.rulesChanged, runner.restores]).toEqual(['', '', 0, 0]);
  });

  it('a pod reaches the outside only through SNAT to the node address', () => {
    expect(ping()).toBe(true);
  });

  it('external SNAT converges: SNAT and connmark gone, the pod address leaves unchanged (no way back)', () => {
    const s = { ...settings, externalSnat: true, nodePortSupport: false };
    applyHostNetwork(s, { netnsPath: node.path });
    const nat = save().get('nat');
    expect(nat?.get('AWS-SNAT-CHAIN-0')?.rules).toEqual([]);
    expect(nat?.get('AWS-CONNMARK-CHAIN-0')).toBeUndefined();
    expect(nat?.get('POSTROUTING')?.rules).toEqual(['-s 172.17.0.0/16 -j MASQUERADE']);
    expect(save().get('mangle')?.get('PREROUTING')?.rules).toEqual(['-i docker0 -j ACCEPT']);
    expect(node.ipj<{ priority: number }>(['rule', 'show']).map((x) => x.priority)).not.toContain(1024);
    expect(ping()).toBe(false);
    // And back.
    applyHostNetwork(settings, { netnsPath: node.path });
    expect(save().get('nat')?.get('AWS-SNAT-CHAIN-0')?.rules).toHaveLength(3);
    expect(ping()).toBe(true);
  });

  it('removes chains of older releases (AWS-SNAT-CHAIN-1) and their jumps', () => {
    const x = (...a: string[]) =>
      execFileSync('ip', ['netns', 'exec', node.name, 'iptables', '-t', 'nat', ...a]);
    x('-N', 'AWS-SNAT-CHAIN-1');
    x('-A', 'AWS-SNAT-CHAIN-1', '-j', 'RETURN');
    x('-A', 'POSTROUTING', '-m', 'comment', '--comment', 'AWS SNAT CHAIN', '-j', 'AWS-SNAT-CHAIN-1');
    applyHostNetwork(settings, { netnsPath: node.path });
    const nat = save().get('nat');
    expect(nat?.has('AWS-SNAT-CHAIN-1')).toBe(false);
    expect(nat?.get('POSTROUTING')?.rules).toEqual([
      '-s 172.17.0.0/16 -j MASQUERADE',
      '-m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0',
    ]);
  });

  it('IPv6 cluster: no SNAT or connmark, the IPv4 egress REJECT first in FORWARD; IPv4 cluster with v6 egress: ip6tables REJECT', () => {
    const v6node = createTestNetns('hn-v6');
    try {
      v6node.ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'p0']);
      execFileSync('ip', ['netns', 'exec', v6node.name, 'iptables', '-A', 'FORWARD', '-j', 'ACCEPT']);
      applyHostNetwork({ ...settings, ipv6: true, v4Egress: true }, { netnsPath: v6node.path });
      const v4 = parseSave(v6node.ip(['netns', 'exec', v6node.name, 'iptables-save']));
      expect(v4.get('nat')?.has('AWS-SNAT-CHAIN-0') ?? false).toBe(false);
      expect(v4.get('filter')?.get('FORWARD')?.rules).toEqual([
        '-d 169.254.172.0/22 -m conntrack --ctstate NEW -m comment --comment "Block Node Local Pod access via IPv4" -j REJECT --reject-with icmp-port-unreachable',
        '-j ACCEPT',
      ]);
      applyHostNetwork({ ...settings, v6Egress: true }, { netnsPath: v6node.path });
      const v6 = parseSave(v6node.ip(['netns', 'exec', v6node.name, 'ip6tables-save']));
      expect(v6.get('filter')?.get('FORWARD')?.rules).toEqual([
        '-d fd00::ac:0/118 -m conntrack --ctstate NEW -m comment --comment "Block Node Local Pod access via IPv6" -j REJECT --reject-with icmp6-port-unreachable',
      ]);
      const again = parseSave(v6node.ip(['netns', 'exec', v6node.name, 'iptables-save']));
      expect(again.get('filter')?.get('FORWARD')?.rules).toEqual(['-j ACCEPT']); // IPv4 cluster now: the v4 REJECT went
    } finally {
      v6node.remove();
    }
  });

  it('strict security groups for pods move the local rule to priority 20, and leaving strict moves it back', () => {
    const ns = createTestNetns('hn-sgp');
    try {
      const localRules = () =>
        ns
          .ipj<{ priority: number; table?: string }>(['rule', 'show'])
          .filter((r) => r.table === 'local')
          .map((r) => r.priority);
      expect(localRules()).toEqual([0]);
      const strict = applyHostNetwork({ ...settings, podEniStrict: true }, { netnsPath: ns.path });
      expect(localRules()).toEqual([20]);
      expect(strict.rulesChanged).toBeGreaterThanOrEqual(2);
      expect(applyHostNetwork({ ...settings, podEniStrict: true }, { netnsPath: ns.path }).rulesChanged).toBe(
        0,
      );
      applyHostNetwork({ ...settings, podEniStrict: false }, { netnsPath: ns.path });
      expect(localRules()).toEqual([0]);
      // Never strict: the local rule is left alone.
      expect(
        applyHostNetwork({ ...settings, podEniStrict: false }, { netnsPath: ns.path }).rulesChanged,
      ).toBe(0);
      expect(localRules()).toEqual([0]);
    } finally {
      ns.remove();
    }
  });

  it('picks the iptables backend as the Kubernetes wrapper does: kubelet chains in the legacy view mean legacy', () => {
    const ns = createTestNetns('hn-be');
    try {
      expect(detectBackend(ns.path)).toBe('nft');
      execFileSync('ip', [
        'netns',
        'exec',
        ns.name,
        'iptables-legacy',
        '-t',
        'mangle',
        '-N',
        'KUBE-KUBELET-CANARY',
      ]);
      expect(detectBackend(ns.path)).toBe('legacy');
      execFileSync('ip', [
        'netns',
        'exec',
        ns.name,
        'iptables-nft',
        '-t',
        'mangle',
        '-N',
        'KUBE-IPTABLES-HINT',
      ]);
      expect(detectBackend(ns.path)).toBe('nft');
    } finally {
      ns.remove();
    }
  });
});
