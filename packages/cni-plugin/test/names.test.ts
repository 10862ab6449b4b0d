import { describe, expect, it } from 'vitest';
import { containerIfName, dummyIfName, hostVethName, podHash, vlanLinkName } from '../src/names.js';

describe('derived names (upstream vectors; docs/architecture.md#pod-wiring)', () => {
  it('host veth names match upstream', () => {
    expect(hostVethName('eni', 'kube-system', 'coredns-57ff979f67-qqbdh')).toBe('enib5faff8a083');
    expect(hostVethName('vlan', 'kube-system', 'coredns-57ff979f67-qqbdh')).toBe('vlanb5faff8a083');
    expect(podHash('kube-system', 'coredns-57ff979f67-8ns9b')).toBe('9571956a6cc');
    expect(podHash('default', 'sample-pod')).toBe('cc21c2d7785');
    expect(hostVethName('eni', 'default', 'nginx')).toBe('enic440f455693');
    expect(hostVethName('eni', 'default', 'nginx', 1)).toBe('enie48ae9c2f34');
    expect(hostVethName('vlan', 'a', 'b').length).toBeLessThanOrEqual(15);
  });
  it('dummy, container and vlan names', () => {
    expect(dummyIfName('default', 'nginx')).toBe('dummyc440f455693');
    expect([containerIfName('eth0', 0), containerIfName('eth0', 2)]).toEqual(['eth0', 'mNicIf2']);
    expect(vlanLinkName(7)).toBe('vlan.eth.7');
  });
});
