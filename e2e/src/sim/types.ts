// Plain records of the simulated VPC. The world (world.ts) owns and mutates them; renderers only read them.

export type Tags = Map<string, string>;

export interface Vpc {
  id: string;
  cidrs: string[]; // primary first, then up to 4 secondary
  ipv6Cidr?: string; // a /56
}

export interface Subnet {
  id: string;
  vpcId: string;
  cidr: string;
  az: string;
  azId: string;
  tags: Tags;
  ipv6Cidr?: string; // a /64
}

/** One inbound permission: protocol (tcp, udp, icmp or -1 for all), port range, sources (CIDRs or groups). */
export interface SgRule {
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrs: string[];
  groups: string[];
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  tags: Tags;
  /**
   * Inbound rules the fabric enforces (stateful, as EC2 does). Undefined: the world does not model this group's
   * rules, and the fabric lets everything in (what the scenarios without security-group tests need).
   */
  ingress?: SgRule[];
}

export type AttachmentStatus = 'attaching' | 'attached' | 'detaching';

export interface Attachment {
  id: string;
  instanceId: string;
  deviceIndex: number;
  networkCardIndex: number;
  deleteOnTermination: boolean;
  status: AttachmentStatus;
  attachTime: Date;
}

export type InterfaceType = 'interface' | 'trunk' | 'branch' | 'efa' | 'efa-only';

export interface Eni {
  id: string;
  mac: string;
  subnetId: string;
  vpcId: string;
  az: string;
  description: string;
  groups: string[];
  tags: Tags;
  status: 'available' | 'in-use';
  interfaceType: InterfaceType;
  requesterManaged: boolean;
  sourceDestCheck: boolean;
  /** Empty for an efa-only interface (it has no IP address). */
  primaryIp: string;
  secondaryIps: string[];
  ipv4Prefixes: string[];
  ipv6Addresses: string[];
  ipv6Prefixes: string[];
  attachment?: Attachment;
  createdAt: Date;
}

export interface Instance {
  id: string;
  type: string;
  az: string;
  subnetId: string;
  vpcId: string;
  primaryEniId: string;
  launchTime: Date;
  tags: Tags;
}
