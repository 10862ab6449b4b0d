// EC2 API errors as EC2 returns them: a code, a message, and the HTTP status the real service uses.

export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'Ec2Error';
  }
}

export const notFoundEni = (id: string): Ec2Error =>
  new Ec2Error('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`);
export const notFoundSubnet = (id: string): Ec2Error =>
  new Ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`);
export const notFoundAttachment = (id: string): Ec2Error =>
  new Ec2Error('InvalidAttachmentID.NotFound', `The attachment ID '${id}' does not exist`);
export const notFoundInstance = (id: string): Ec2Error =>
  new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
export const notFoundGroup = (id: string): Ec2Error =>
  new Ec2Error('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
export const invalidParam = (msg: string): Ec2Error => new Ec2Error('InvalidParameterValue', msg);
export const missingParam = (name: string): Ec2Error =>
  new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);
export const ipLimit = (): Ec2Error =>
  new Ec2Error('PrivateIpAddressLimitExceeded', 'Number of private addresses will exceed limit.');
export const noFreeAddresses = (subnetId: string): Ec2Error =>
  new Ec2Error(
    'InsufficientFreeAddressesInSubnet',
    `The specified subnet ${subnetId} does not have enough free addresses to satisfy the request.`,
  );
export const throttled = (): Ec2Error => new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503);
export const unauthorized = (action: string): Ec2Error =>
  new Ec2Error('UnauthorizedOperation', `You are not authorized to perform this operation (${action}).`, 403);
