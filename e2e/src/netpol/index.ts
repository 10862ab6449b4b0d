// Network policy test kit: a node namespace with pods, the simulators and the agent (see lab.ts).
export { NetpolLab, eventually, type LabPod, type LabOptions } from './lab.js';
export { inNetns } from './netns-datapath.js';
