// Test helpers: a small world (one VPC, two subnets, two SGs) and an SDK client pointed at the simulator.
import { EC2Client } from '@aws-sdk/client-ec2';
import { Sim, type SimOptions } from './sim.js';

export const SUBNET_A = 'subnet-0aaaaaaaaaaaaaaaa';
export const SUBNET_B = 'subnet-0bbbbbbbbbbbbbbbb';
export const SG_1 = 'sg-01111111111111111';
export const SG_2 = 'sg-02222222222222222';

export function smallWorld(extra: Partial<SimOptions> = {}): SimOptions {
  return {
    vpc: {
      id: 'vpc-0123456789abcdef0',
      cidrs: ['10.0.0.0/16', '100.64.0.0/16'],
      ipv6Cidr: '2600:1f14:abc:de00::/56',
    },
    subnets: [
      {
        id: SUBNET_A,
        cidr: '10.0.1.0/24',
        az: 'us-west-2a',
        ipv6Cidr: '2600:1f14:abc:de01::/64',
        tags: { 'kubernetes.io/role/cni': '1' },
      },
      { id: SUBNET_B, cidr: '10.0.2.0/27', az: 'us-west-2a' },
    ],
    securityGroups: [
      { id: SG_1, name: 'nodes' },
      { id: SG_2, name: 'pods', tags: { team: 'net' } },
    ],
    ...extra,
  };
}

export async function startSmall(extra: Partial<SimOptions> = {}): Promise<Sim> {
  return Sim.start(smallWorld(extra));
}

export function sdkClient(sim: Sim, maxAttempts = 1): EC2Client {
  return new EC2Client({
    endpoint: sim.ec2Url,
    region: 'us-west-2',
    credentials: { accessKeyId: 'AKIASIMULATOR0000000', secretAccessKey: 'secret' },
    maxAttempts,
  });
}
