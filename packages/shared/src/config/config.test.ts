import { describe, expect, it } from 'vitest';
import {
  ConfigErrors,
  loadEntrypointConfig,
  loadInitConfig,
  loadIpamdConfig,
  loadSettings,
  parseIPv4CidrList,
  variables,
  type VariableName,
} from './index.js';

// One invalid value per variable that can be invalid; `null` marks variables that accept any string.
const bad: Record<VariableName, string | null> = {
  ENABLE_IPv4: 'yes',
  ENABLE_IPv6: 'on',
  ENABLE_PREFIX_DELEGATION: 'enabled',
  WARM_ENI_TARGET: '-1',
  WARM_IP_TARGET: '5x',
  MINIMUM_IP_TARGET: '1.5',
  WARM_PREFIX_TARGET: '-2',
  MAX_ENI: 'three',
  IP_COOLDOWN_PERIOD: '30s',
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'maybe',
  ENI_CONFIG_ANNOTATION_DEF: null,
  ENI_CONFIG_LABEL_DEF: null,
  ENABLE_SUBNET_DISCOVERY: 'nope',
  ENABLE_POD_ENI: 'Yes',
  POD_SECURITY_GROUP_ENFORCING_MODE: 'loose',
  ENABLE_MULTI_NIC: '2',
  AWS_MANAGE_ENIS_NON_SCHEDULABLE: 'y',
  DISABLE_NETWORK_RESOURCE_PROVISIONING: 'no',
  ENABLE_IMDS_ONLY_MODE: 'off',
  DISABLE_LEAKED_ENI_CLEANUP: 'tru',
  MANAGE_UNTAGGED_ENI: 'fals',
  ANNOTATE_POD_IP: 'TRUE!',
  NETWORK_POLICY_ENFORCING_MODE: 'enforce',
  AWS_VPC_K8S_CNI_BACKING_STORE: null,
  CLUSTER_NAME: null,
  ADDITIONAL_ENI_TAGS: '{"team": 5}',
  MY_NODE_NAME: null,
  MY_POD_NAME: null,
  CLUSTER_ENDPOINT: null,
  VPC_CNI_VERSION: null,
  HTTP_TIMEOUT: 'ten',
  AWS_EC2_ENDPOINT: null,
  INTROSPECTION_BIND_ADDRESS: 'localhost',
  DISABLE_INTROSPECTION: 'disable',
  DISABLE_METRICS: '00',
  AWS_VPC_K8S_CNI_LOGLEVEL: 'verbose',
  AWS_VPC_K8S_CNI_LOG_FILE: null,
  AWS_VPC_K8S_PLUGIN_LOG_FILE: 'stdout',
  AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'trace',
  AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE: 'stdout',
  AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE: 'stdout',
  AWS_VPC_K8S_CNI_EXTERNALSNAT: 'external',
  AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.0.0.0/8,not-a-cidr',
  AWS_EXTERNAL_SERVICE_CIDRS: '10.0.0.0/33',
  AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'random',
  AWS_VPC_CNI_NODE_PORT_SUPPORT: 'si',
  AWS_VPC_K8S_CNI_CONNMARK: '0x100000000',
  AWS_VPC_ENI_MTU: '9002',
  POD_MTU: '500',
  AWS_VPC_K8S_CNI_VETHPREFIX: 'vlan',
  ENABLE_V6_EGRESS: 'v6',
  ENABLE_V4_EGRESS: 'v4',
  ENABLE_BANDWIDTH_PLUGIN: 'bw',
  DISABLE_POD_V6: 'disable',
  DISABLE_TCP_EARLY_DEMUX: 'x',
  HOST_CNI_BIN_PATH: null,
  HOST_CNI_CONFDIR_PATH: null,
  VPC_CNI_IPAMD_SOCKET: null,
  VPC_CNI_NPA_SOCKET: 'run/npa.sock',
  VPC_CNI_IPAMD_TCP_ADDRESS: '127.0.0.1',
  VPC_CNI_METRICS_BIND_ADDRESS: ':99999',
  VPC_CNI_ADD_WAIT_SECONDS: '-5',
  VPC_CNI_HEALTH_WAIT_SECONDS: 'forever',
  VPC_CNI_SOURCE_BIN_DIR: null,
  VPC_CNI_MOUNT_BPFFS: 'mount',
  VPC_CNI_BPFFS_PATH: null,
  AWS_EC2_METADATA_SERVICE_ENDPOINT: 'ftp://169.254.169.254',
  VPC_CNI_STATIC_ENIS: '[{"id":',
  VPC_CNI_MANAGE_BRANCH_ENIS: 'yes please',
};

describe('every variable', () => {
  const names = Object.keys(variables) as VariableName[];

  it('is covered by this test table', () => {
    expect(Object.keys(bad).sort()).toEqual([...names].sort());
  });

  for (const name of names) {
    const spec = variables[name];
    const component = spec.readBy[0] ?? 'ipamd';
    it(`${name}: default when unset, and a bad value names the variable, value and what is accepted`, () => {
      expect(loadSettings(component, {})[name]).toEqual(spec.default);
      const value = bad[name];
      if (value === null) {
        expect(loadSettings(component, { [name]: 'any value' })[name]).toBe('any value');
        return;
      }
      let err: unknown;
      try {
        loadSettings(component, { [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigErrors);
      const msg = (err as Error).message;
      expect(msg).toContain(name);
      expect(msg).toContain(JSON.stringify(value));
      expect(msg).toMatch(/accepted /);
    });
  }

  it('only the reading component fails on a bad value', () => {
    expect(() => loadInitConfig({ WARM_IP_TARGET: 'bad' })).not.toThrow();
    expect(() => loadIpamdConfig({ WARM_IP_TARGET: 'bad' })).toThrow(/WARM_IP_TARGET/);
  });

  it('reports all bad values at once', () => {
    expect(() => loadIpamdConfig({ WARM_IP_TARGET: 'x', MAX_ENI: 'y' })).toThrow(
      /2 configuration errors[\s\S]*WARM_IP_TARGET[\s\S]*MAX_ENI/,
    );
  });
});

describe('parsing as upstream', () => {
  it('Go ParseBool spellings', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True'])
      expect(loadSettings('ipamd', { ENABLE_POD_ENI: t }).ENABLE_POD_ENI).toBe(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False'])
      expect(loadSettings('ipamd', { MANAGE_UNTAGGED_ENI: f }).MANAGE_UNTAGGED_ENI).toBe(false);
  });

  it('connmark in any base, MAX_ENI below 1 means no cap, HTTP_TIMEOUT floor 10', () => {
    expect(loadSettings('ipamd', { AWS_VPC_K8S_CNI_CONNMARK: '0x40' }).AWS_VPC_K8S_CNI_CONNMARK).toBe(0x40);
    expect(loadSettings('ipamd', { AWS_VPC_K8S_CNI_CONNMARK: '0b1000' }).AWS_VPC_K8S_CNI_CONNMARK).toBe(8);
    expect(loadSettings('ipamd', { AWS_VPC_K8S_CNI_CONNMARK: '128' }).AWS_VPC_K8S_CNI_CONNMARK).toBe(128);
    expect(loadSettings('ipamd', { MAX_ENI: '-1' }).MAX_ENI).toBeUndefined();
    expect(loadSettings('ipamd', { MAX_ENI: '2' }).MAX_ENI).toBe(2);
    expect(loadSettings('ipamd', { HTTP_TIMEOUT: '3' }).HTTP_TIMEOUT).toBe(10);
    expect(loadSettings('ipamd', { HTTP_TIMEOUT: '30' }).HTTP_TIMEOUT).toBe(30);
  });

  it('CIDR lists are trimmed and normalised; empty means unset', () => {
    expect(parseIPv4CidrList(' 10.1.2.3/16 , 192.168.7.9/24,')).toEqual(['10.1.0.0/16', '192.168.7.0/24']);
    expect(loadSettings('ipamd', { AWS_EXTERNAL_SERVICE_CIDRS: '' }).AWS_EXTERNAL_SERVICE_CIDRS).toEqual([]);
  });

  it('log level is case-insensitive; network policy mode kept verbatim', () => {
    expect(loadSettings('ipamd', { AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG' }).AWS_VPC_K8S_CNI_LOGLEVEL).toBe(
      'debug',
    );
    expect(
      loadSettings('ipamd', { NETWORK_POLICY_ENFORCING_MODE: 'Standard' }).NETWORK_POLICY_ENFORCING_MODE,
    ).toBe('Standard');
  });

  it('ADDITIONAL_ENI_TAGS is a JSON map of strings', () => {
    expect(
      loadSettings('ipamd', { ADDITIONAL_ENI_TAGS: '{"team":"net","env":"dev"}' }).ADDITIONAL_ENI_TAGS,
    ).toEqual({ team: 'net', env: 'dev' });
    expect(() => loadSettings('ipamd', { ADDITIONAL_ENI_TAGS: '[1]' })).toThrow(/ADDITIONAL_ENI_TAGS/);
  });
});

describe('cross-variable rules', () => {
  it('ipamd: IPv4 by default, IPv6 when asked, never both', () => {
    expect(loadIpamdConfig({}).ENABLE_IPv4).toBe(true);
    const v6 = loadIpamdConfig({ ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true' });
    expect([v6.ENABLE_IPv4, v6.ENABLE_IPv6]).toEqual([false, true]);
    expect(() =>
      loadIpamdConfig({ ENABLE_IPv4: 'true', ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true' }),
    ).toThrow(/exactly one/);
    expect(() => loadIpamdConfig({ ENABLE_IPv4: 'false' })).toThrow(/exactly one/);
  });

  it('ipamd: IPv6 needs prefix delegation, no custom networking, MTU >= 1280', () => {
    expect(() => loadIpamdConfig({ ENABLE_IPv6: 'true' })).toThrow(/ENABLE_PREFIX_DELEGATION/);
    expect(() =>
      loadIpamdConfig({
        ENABLE_IPv6: 'true',
        ENABLE_PREFIX_DELEGATION: 'true',
        AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
      }),
    ).toThrow(/CUSTOM_NETWORK_CFG/);
    expect(() =>
      loadIpamdConfig({ ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true', AWS_VPC_ENI_MTU: '1000' }),
    ).toThrow(/1280/);
  });

  it('ipamd: ENABLE_MULTI_NIC is read as a boolean (its effect: e2e/src/sim/ipamd-multinic.test.ts)', () => {
    expect(loadIpamdConfig({ ENABLE_MULTI_NIC: 'false' }).ENABLE_MULTI_NIC).toBe(false);
    expect(loadIpamdConfig({ ENABLE_MULTI_NIC: 'true' }).ENABLE_MULTI_NIC).toBe(true);
    expect(loadIpamdConfig({}).ENABLE_MULTI_NIC).toBe(false);
  });

  it('ipamd: IMDS-only mode is refused in an IPv6 cluster', () => {
    expect(() =>
      loadIpamdConfig({
        ENABLE_IPv6: 'true',
        ENABLE_PREFIX_DELEGATION: 'true',
        ENABLE_IMDS_ONLY_MODE: 'true',
      }),
    ).toThrow(/ENABLE_IMDS_ONLY_MODE=true is not supported with ENABLE_IPv6=true/);
  });

  it('entrypoint: POD_MTU defaults to AWS_VPC_ENI_MTU; prefix delegation needs a warm target', () => {
    expect(loadEntrypointConfig({ AWS_VPC_ENI_MTU: '1500' }).podMtu).toBe(1500);
    expect(loadEntrypointConfig({ AWS_VPC_ENI_MTU: '1500', POD_MTU: '1400' }).podMtu).toBe(1400);
    expect(() => loadEntrypointConfig({ ENABLE_PREFIX_DELEGATION: 'true' })).toThrow(/WARM_PREFIX_TARGET/);
    expect(
      loadEntrypointConfig({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' })
        .ENABLE_PREFIX_DELEGATION,
    ).toBe(true);
    expect(() => loadEntrypointConfig({ AWS_VPC_K8S_PLUGIN_LOG_FILE: 'stdout' })).toThrow(
      /stdout is the CNI result channel/,
    );
  });
});
