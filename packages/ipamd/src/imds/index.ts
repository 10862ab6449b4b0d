// IMDS for ipamd: an IMDSv2 client and the node facts / attached ENIs it reads at start.
export { ImdsClient, ImdsError, type ImdsClientOptions } from './client.js';
export { readAttachedEnis, readNodeFacts, type AttachedEni, type NodeFacts } from './node.js';
