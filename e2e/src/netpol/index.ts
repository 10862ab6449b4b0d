// Network policy test kit: a node namespace with pods, the simulators and the agent (see lab.ts); several labs
// sharing one EC2 simulator and API stand-in make a multi-node cluster; the controller on top (cluster.ts).
export { NetpolLab, eventually, type LabPod, type LabOptions } from './lab.js';
export { NetpolCluster, type ClusterOptions } from './cluster.js';
export { inNetns, afterWrites } from './netns-datapath.js';
export { startSmall } from '../sim/testkit.js';
