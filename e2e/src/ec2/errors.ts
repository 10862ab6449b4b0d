// EC2 errors as EC2 returns them: a code the SDK maps to an exception name, a message, an HTTP status.
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

export const notFound = (
  kind: 'NetworkInterfaceID' | 'SubnetID' | 'InstanceID' | 'AttachmentID',
  id: string,
) =>
  new Ec2Error(
    `Invalid${kind}.NotFound`,
    kind === 'AttachmentID'
      ? `The attachment ID '${id}' does not exist`
      : `The ${kind === 'NetworkInterfaceID' ? 'networkInterface' : kind === 'SubnetID' ? 'subnet' : 'instance'} ID '${id}' does not exist`,
  );
