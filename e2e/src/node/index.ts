// A simulated EKS node: the real ipamd in a node netns against the EC2/IMDS simulator.
export { AgentProcess, type AgentProcessOptions } from './agent-process.js';
export { SimNode, type SimNodeOptions, NODE_EC2_URL, NODE_IMDS_URL, NODE_KUBE_URL } from './sim-node.js';
export { linkHotplug } from './link-hotplug.js';
