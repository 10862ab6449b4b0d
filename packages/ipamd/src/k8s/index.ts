// Kubernetes access for ipamd: API clients, this node's ENIConfig (custom networking), pods and CNINode
// (security groups for pods).
export { kubeApis, statusOf, type KubeApis } from './client.js';
export { K8sEniConfigSource, eniConfigName, EXTERNAL_LABEL, type NodeMeta } from './eniconfig.js';
export {
  K8sPodLookup,
  parsePodEniAnnotation,
  podView,
  podWarning,
  setPodEniAnnotation,
  PodEniParseError,
  POD_ENI_ANNOTATION,
  POD_ENI_RESOURCE,
  type PodEniData,
  type PodLookup,
  type PodView,
} from './pod-eni.js';
export { addCniNodeFeature, CNINODE, type CniNodeFeature, type FeatureOutcome } from './cninode.js';
export {
  K8sSgpSource,
  selectorMatches,
  SGP,
  type LabelSelector,
  type PodIdentity,
  type SgpMatch,
  type SgpSource,
} from './sgp.js';
export { K8sPodCache } from './pod-cache.js';
export { WatchCache, type WatchCacheOptions } from './watch-cache.js';
export { PodIpAnnotator, AwsNodeEvents, POD_IPS_ANNOTATION, AWS_NODE_NAMESPACE } from './node-events.js';
