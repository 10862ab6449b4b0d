// EC2 simulator: the world model and its Query API endpoint (the AWS SDK is the client). IMDS, hot-plugged links
// and the VPC fabric come next (issue #7).
export { World, type Eni, type Instance, type Subnet, type Attachment } from './world.js';
export { Ec2Sim, type Ec2SimOptions, type CallRecord } from './server.js';
export { Ec2Error } from './errors.js';
export { ImdsSim } from './imds.js';
