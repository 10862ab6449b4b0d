// IMDS for ipamd: the node facts / attached ENIs it reads at start (the IMDSv2 client lives in @vpc-cni/shared/imds).
export { ImdsClient, ImdsError, type ImdsClientOptions } from '@vpc-cni/shared/imds';
export { readAttachedEnis, readNodeFacts, type AttachedEni, type NodeFacts } from './node.js';
