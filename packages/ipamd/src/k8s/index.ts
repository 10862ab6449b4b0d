// Kubernetes access for ipamd: API clients and this node's ENIConfig (custom networking).
export { kubeApis, statusOf, type KubeApis } from './client.js';
export { K8sEniConfigSource, eniConfigName, EXTERNAL_LABEL, type NodeMeta } from './eniconfig.js';
