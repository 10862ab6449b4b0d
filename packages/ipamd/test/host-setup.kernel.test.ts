// ipamd's host set-up in a throwaway node netns, read back through /metrics: a run that converged counts in
// awscni_connmark_reconcile_total{result="success"} and marks the iptables backend in awscni_connmark_backend;
// a run that failed counts as result="error".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIpamdConfig } from '@vpc-cni/shared/config';
import { silentLogger } from '@vpc-cni/shared/logging';
import { type TestNetns, createTestNetns } from '../../shared/test/netns-fixture.js';
import { setupHost } from '../src/agent/host-setup.js';
import { IpamdMetrics, listenHttp, metricsHandler } from '../src/http/index.js';
import { Datastore } from '../src/store/index.js';

describe('host set-up metrics (kernel)', () => {
  let node: TestNetns;
  const MAC = '02:5a:00:00:02:01';
  beforeAll(() => {
    node = createTestNetns('hs-node');
    node.ip(['link', 'add', 'eth0', 'address', MAC, 'type', 'veth', 'peer', 'name', 'eth0p']);
    node.ip(['addr', 'add', '10.0.1.4/24', 'dev', 'eth0']);
    node.ip(['link', 'set', 'eth0', 'up']);
  });
  afterAll(() => node?.remove());

  it('awscni_connmark_backend and awscni_connmark_reconcile_total on /metrics', async () => {
    const metrics = new IpamdMetrics('test');
    const ds = new Datastore({ family: 4, prefixDelegation: false, cooldownMs: 0 });
    const { server, port } = await listenHttp('127.0.0.1:0', metricsHandler(metrics, ds), {
      allowNonLoopback: false,
      what: 'metrics',
    });
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    try {
      const cfg = loadIpamdConfig({ AWS_VPC_ENI_MTU: '1500' });
      const before = await scrape();
      expect(before).toMatch(/^awscni_connmark_reconcile_total\{result="success"\} 0$/m);
      expect(before).toMatch(/^awscni_connmark_reconcile_total\{result="error"\} 0$/m);

      const primary = { mac: MAC, primaryIp: '10.0.1.4', vpcCidrs: ['10.0.0.0/16'] };
      await setupHost(cfg, primary, silentLogger, metrics, { netnsPath: node.path });
      const after = await scrape();
      expect(after).toMatch(/^awscni_connmark_reconcile_total\{result="success"\} 1$/m);
      expect(after).toMatch(/^awscni_connmark_backend\{backend="iptables"\} 1$/m);
      expect(after).toMatch(/^awscni_connmark_backend\{backend="nftables"\} 0$/m);
      // The rules are really there: the connmark chain in the node's nat table.
      expect(node.ip(['netns', 'exec', node.name, 'iptables-save', '-t', 'nat'])).toContain(
        'AWS-CONNMARK-CHAIN-0',
      );

      // No interface with the primary ENI's MAC: the run fails and counts as an error.
      await expect(
        setupHost(cfg, { ...primary, mac: '02:00:00:00:00:99' }, silentLogger, metrics, {
          netnsPath: node.path,
        }),
      ).rejects.toThrow(/no interface has the primary ENI's MAC/);
      expect(await scrape()).toMatch(/^awscni_connmark_reconcile_total\{result="error"\} 1$/m);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
