// Kubernetes helpers shared by ipamd, the network policy agent and controller (loaded only by daemons, never by aws-cni).
export { WatchCache, type WatchCacheOptions } from './watch-cache.js';
export * from './policy-endpoint.js';
export { selectorMatches } from './selector.js';
