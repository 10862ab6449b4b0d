// Node-wide host networking (docs/architecture.md#host-networking): SNAT, connmark, mangle restore rules,
// node-local egress isolation, and the fwmark / external-service / SGP policy rules.
export { type HostNetSettings, desiredV4, desiredV6, SNAT_CHAIN, CONNMARK_CHAIN } from './desired.js';
export { applyHostNetwork, applyHostRules, type ApplyResult } from './apply.js';
export {
  type EniNetwork,
  EniLinkNotFound,
  ENI_RULE_PRIORITY,
  findLinkByMac,
  gatewayOf,
  eniTable,
  setupEniNetwork,
  teardownEniNetwork,
  waitForLink,
} from './eni-network.js';
export { netlinkPlumbing } from './netlink-plumbing.js';
