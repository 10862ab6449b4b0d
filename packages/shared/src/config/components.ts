// Typed configuration per executable, with the cross-variable rules upstream enforces at start-up.
import { Checks, loadSettings, type Env } from './load.js';
import type { Settings } from './variables.js';

export interface IpamdConfig extends Settings {
  readonly ENABLE_IPv4: boolean;
}

export function loadIpamdConfig(env: Env = process.env): IpamdConfig {
  const s = loadSettings('ipamd', env);
  const ipv4 = s.ENABLE_IPv4 ?? !s.ENABLE_IPv6;
  const c = new Checks();
  c.require(
    ipv4 !== s.ENABLE_IPv6,
    'ENABLE_IPv4 and ENABLE_IPv6 are both true: exactly one address family must be enabled',
  );
  if (s.ENABLE_IPv6) {
    c.require(
      s.ENABLE_PREFIX_DELEGATION,
      'ENABLE_IPv6=true needs ENABLE_PREFIX_DELEGATION=true (IPv6 pods come from a /80 prefix)',
    );
    c.require(
      !s.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG,
      'ENABLE_IPv6=true cannot be combined with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true',
    );
    c.require(
      s.AWS_VPC_ENI_MTU >= 1280,
      `AWS_VPC_ENI_MTU=${s.AWS_VPC_ENI_MTU} is below 1280, the IPv6 minimum`,
    );
  }
  c.require(
    !(s.ENABLE_IMDS_ONLY_MODE && s.ENABLE_IPv6),
    'ENABLE_IMDS_ONLY_MODE=true is not supported with ENABLE_IPv6=true yet (the IPv6 /80 prefix comes from EC2): use IPv4 or turn IMDS-only mode off',
  );
  c.done();
  return { ...s, ENABLE_IPv4: ipv4 };
}

export interface EntrypointConfig extends Settings {
  /** POD_MTU, or AWS_VPC_ENI_MTU when unset. */
  readonly podMtu: number;
}

export function loadEntrypointConfig(env: Env = process.env): EntrypointConfig {
  const s = loadSettings('entrypoint', env);
  const podMtu = s.POD_MTU ?? s.AWS_VPC_ENI_MTU;
  const c = new Checks();
  if (s.ENABLE_IPv6) {
    c.require(
      s.AWS_VPC_ENI_MTU >= 1280,
      `AWS_VPC_ENI_MTU=${s.AWS_VPC_ENI_MTU} is below 1280, the IPv6 minimum`,
    );
    c.require(podMtu >= 1280, `POD_MTU=${podMtu} is below 1280, the IPv6 minimum`);
  }
  if (s.ENABLE_PREFIX_DELEGATION) {
    c.require(
      s.WARM_IP_TARGET > 0 || s.WARM_PREFIX_TARGET > 0 || s.MINIMUM_IP_TARGET > 0,
      'ENABLE_PREFIX_DELEGATION=true needs WARM_PREFIX_TARGET, WARM_IP_TARGET or MINIMUM_IP_TARGET above 0',
    );
  }
  c.done();
  return { ...s, podMtu };
}

export type InitConfig = Settings;

export function loadInitConfig(env: Env = process.env): InitConfig {
  return loadSettings('init', env);
}
