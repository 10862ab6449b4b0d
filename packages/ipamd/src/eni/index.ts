// ENIs from EC2: the AddressSupply that grows the pool on demand through the EC2 API.
export { Ec2Supply, type Ec2SupplyOptions } from './ec2-supply.js';
