// rtnetlink for the CNI plugin and ipamd. This session: the pure codec (messages, attributes, errors, routes,
// rules). Sockets, namespaces and the link/address/neighbour operations are the rest of issue #3.
export * from './codec.js';
export { ipToBytes, bytesToIp, parsePrefix } from './addr-bytes.js';
export * from './route-rule-codec.js';
