// Where a new ENI goes and with which security groups. Ordinary nodes: the subnet catalog (node subnet, or
// the discovered ones) with the primary ENI's groups. Custom networking
// (docs/architecture.md#custom-networking): the subnet and groups of this node's ENIConfig (groups default to
// the primary ENI's); subnet discovery is not used then.
import { DescribeSubnetsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { CapacityError } from '../service/supply.js';
import { type CallObserver, ec2Call } from './ec2-call.js';
import type { SubnetCatalog, SubnetInfo } from './subnets.js';

export interface EniTarget {
  subnets: SubnetInfo[];
  securityGroups: string[];
}

export type EniTargetResolver = () => Promise<EniTarget>;

/** This node's ENIConfig, as the Kubernetes layer resolves it (label/annotation → name → object). */
export interface EniConfigView {
  name: string;
  /** Undefined when the ENIConfig object does not exist or has no subnet. */
  subnet?: string | undefined;
  securityGroups: string[];
}

export interface EniConfigSource {
  current(): Promise<EniConfigView>;
}

export const catalogTarget =
  (catalog: SubnetCatalog, securityGroups: string[]): EniTargetResolver =>
  async () => ({ subnets: await catalog.candidates(), securityGroups });

export function customNetworkingTarget(
  ec2: EC2Client,
  source: EniConfigSource,
  primaryGroups: string[],
  o: { onCall?: CallObserver | undefined } = {},
): EniTargetResolver {
  const cidrs = new Map<string, SubnetInfo>();
  return async () => {
    const cfg = await source.current();
    if (!cfg.subnet)
      throw new CapacityError(
        'other',
        `eniconfig: ENIConfig "${cfg.name}" is not available (custom networking is on): create it, or fix the node's ` +
          'eniConfig label/annotation; no pod address is taken from another subnet meanwhile',
      );
    let s = cidrs.get(cfg.subnet);
    if (!s) {
      const r = await ec2Call(
        'DescribeSubnets',
        () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: [cfg.subnet!] })),
        o,
      ).catch((e: unknown) => {
        throw new CapacityError(
          'other',
          `eniconfig: ENIConfig "${cfg.name}" subnet ${cfg.subnet}: ${String(e)}`,
        );
      });
      const found = r.Subnets?.[0];
      s = {
        id: cfg.subnet,
        cidr: found?.CidrBlock ?? '',
        free: found?.AvailableIpAddressCount ?? 0,
        tags: new Map(),
      };
      cidrs.set(cfg.subnet, s);
    }
    return { subnets: [s], securityGroups: cfg.securityGroups.length ? cfg.securityGroups : primaryGroups };
  };
}
