// Public API of the EC2 + IMDS simulator (see README.md).
export { Sim, type SimOptions, type Node } from './sim.js';
export { World, type WorldOptions, type SubnetSpec, type AttachListener } from './world.js';
export {
  Faults,
  zeroTiming,
  realisticTiming,
  type FaultConfig,
  type CallRecord,
  type Bucket,
} from './faults.js';
export { Ec2Error } from './errors.js';
export { Ec2Server } from './ec2-server.js';
export { ImdsServer, type ImdsOptions } from './imds-server.js';
export { launchInstance, attachEni, detachEni, deleteEni, settle, type LaunchSpec } from './ops-attach.js';
export { createEni, assignIpv4, unassignIpv4, assignIpv6, unassignIpv6, modifyEni } from './ops-eni.js';
export { SubnetAllocator } from './alloc.js';
export { nodeLinkName } from './link-name.js';
export type { Eni, Instance, Subnet, SecurityGroup, Attachment, Vpc, InterfaceType } from './types.js';
export type { ImdsInstanceView, ImdsEniView } from './imds-view.js';
