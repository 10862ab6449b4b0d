// Lifted into @vpc-cni/shared/k8s (the network policy agent watches with it too).
export { WatchCache, type WatchCacheOptions } from '@vpc-cni/shared/k8s';
