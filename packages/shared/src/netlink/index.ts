// rtnetlink and network namespaces for the CNI plugin and ipamd: a pure codec, a synchronous socket over koffi,
// and typed operations on links, addresses, routes, rules and neighbours. See README.md.
export * from './codec.js';
export { ipToBytes, bytesToIp, parsePrefix } from './addr-bytes.js';
export * from './route-rule-codec.js';
export * from './link-codec.js';
export * from './addr-neigh-codec.js';
export { NetlinkError, errnoName, isNetlinkError } from './errors.js';
export { withNetns, openNetns, closeFd, currentNetnsId, type NetnsRef } from './netns.js';
export { NetlinkSocket } from './socket.js';
export { Netlink } from './handle.js';
export type { LinkRef, NewLinkOptions } from './links.js';
export type { RouteSpec } from './routes.js';
export { sysctlGet, sysctlSet, sysctlPath } from './sysctl.js';
export { loadLibc } from './ffi.js';
