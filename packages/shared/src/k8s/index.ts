// Kubernetes helpers shared by ipamd and the network policy agent (loaded only by daemons, never by aws-cni).
export { WatchCache, type WatchCacheOptions } from './watch-cache.js';
