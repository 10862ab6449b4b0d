import { describe, expect, it } from 'vitest';
import { loadEntrypointConfig } from '@vpc-cni/shared/config';
import { renderConflist } from './conflist.js';

const render = (env: Record<string, string>, inputs = { nodeIp: '', nodeHasIpv6: false }) =>
  renderConflist(loadEntrypointConfig(env), inputs);

describe('10-aws.conflist', () => {
  it('points aws-cni at a non-default ipamd socket, and only then', () => {
    const plugin = (env: Record<string, string>) => (render(env).plugins as Record<string, unknown>[])[0]!;
    expect(plugin({ VPC_CNI_IPAMD_SOCKET: '/run/x/ipamd.sock' })['ipamdEndpoint']).toBe(
      'unix:///run/x/ipamd.sock',
    );
    expect(plugin({ VPC_CNI_IPAMD_SOCKET: '/var/run/aws-node/ipamd.sock' })).not.toHaveProperty(
      'ipamdEndpoint',
    );
  });

  it('points aws-cni at a non-default network policy agent socket, and only then', () => {
    const plugin = (env: Record<string, string>) => (render(env).plugins as Record<string, unknown>[])[0]!;
    expect(plugin({ VPC_CNI_NPA_SOCKET: '/run/node-a/npa.sock' })['npaEndpoint']).toBe(
      'unix:///run/node-a/npa.sock',
    );
    expect(plugin({ VPC_CNI_NPA_SOCKET: '/var/run/aws-node/npa.sock' })).not.toHaveProperty('npaEndpoint');
    expect(() => render({ VPC_CNI_NPA_SOCKET: 'npa.sock' })).toThrow(/VPC_CNI_NPA_SOCKET/);
  });

  it('defaults: the template with upstream values, egress off, portmap keeps snat', () => {
    expect(render({})).toEqual({
      cniVersion: '0.4.0',
      name: 'aws-cni',
      disableCheck: true,
      plugins: [
        {
          name: 'aws-cni',
          type: 'aws-cni',
          vethPrefix: 'eni',
          mtu: '9001',
          podSGEnforcingMode: 'strict',
          pluginLogFile: '/var/log/aws-routed-eni/plugin.log',
          pluginLogLevel: 'Debug',
          capabilities: { 'io.kubernetes.cri.pod-annotations': true },
        },
        {
          name: 'egress-cni',
          type: 'egress-cni',
          mtu: '9001',
          enabled: 'false',
          randomizeSNAT: 'prng',
          nodeIP: '',
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: 'fd00::ac:00/118' }]],
            routes: [{ dst: '::/0' }],
            dataDir: '/run/cni/v4pd/egress-v6-ipam',
          },
          pluginLogFile: '/var/log/aws-routed-eni/egress-v6-plugin.log',
          pluginLogLevel: 'Debug',
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    });
  });

  it('settings flow into the plugin entries; POD_MTU wins over AWS_VPC_ENI_MTU', () => {
    const c = render({
      AWS_VPC_K8S_CNI_VETHPREFIX: 'abc',
      AWS_VPC_ENI_MTU: '1500',
      POD_MTU: '1400',
      POD_SECURITY_GROUP_ENFORCING_MODE: 'standard',
      AWS_VPC_K8S_PLUGIN_LOG_FILE: '/tmp/p.log',
      AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'INFO',
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom',
    }) as { plugins: Record<string, unknown>[] };
    expect(c.plugins[0]).toMatchObject({
      vethPrefix: 'abc',
      mtu: '1400',
      podSGEnforcingMode: 'standard',
      pluginLogFile: '/tmp/p.log',
      pluginLogLevel: 'INFO',
    });
    expect(c.plugins[1]).toMatchObject({ mtu: '1400', randomizeSNAT: 'hashrandom', pluginLogLevel: 'INFO' });
  });

  it('IPv6 cluster: v4 egress on by default with the node IPv4 and the v4 egress ranges', () => {
    const c = render(
      { ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' },
      {
        nodeIp: '10.0.0.7',
        nodeHasIpv6: true,
      },
    ) as { plugins: Record<string, unknown>[] };
    expect(c.plugins[1]).toMatchObject({
      enabled: 'true',
      nodeIP: '10.0.0.7',
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: '169.254.172.0/22' }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: '/run/cni/v6pd/egress-v4-ipam',
      },
      pluginLogFile: '/var/log/aws-routed-eni/egress-v4-plugin.log',
    });
  });

  it('IPv4 cluster with v6 egress: on only when the node has IPv6', () => {
    const on = render({ ENABLE_V6_EGRESS: 'true' }, { nodeIp: '2600::7', nodeHasIpv6: true }) as {
      plugins: Record<string, unknown>[];
    };
    expect(on.plugins[1]).toMatchObject({ enabled: 'true', nodeIP: '2600::7' });
    const off = render({ ENABLE_V6_EGRESS: 'true' }) as { plugins: Record<string, unknown>[] };
    expect(off.plugins[1]).toMatchObject({ enabled: 'false' });
  });

  it('bandwidth and tuning plugins are appended after portmap when enabled', () => {
    const c = render({ ENABLE_BANDWIDTH_PLUGIN: 'true', DISABLE_POD_V6: 'true' }) as {
      plugins: { type: string }[];
    };
    expect(c.plugins.map((p) => p.type)).toEqual(['aws-cni', 'egress-cni', 'portmap', 'bandwidth', 'tuning']);
    expect(c.plugins[4]).toEqual({
      type: 'tuning',
      sysctl: {
        'net.ipv6.conf.all.disable_ipv6': '1',
        'net.ipv6.conf.default.disable_ipv6': '1',
        'net.ipv6.conf.lo.disable_ipv6': '1',
      },
    });
  });
});
