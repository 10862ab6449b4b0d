// CNI 1.1 GC: ipamd releases every allocation of this network whose attachment is not in
// `cni.dev/valid-attachments`; the plugin then removes the host-side routes and rules of each released address
// (the pod netns, and with it the veth, is already gone when the runtime garbage-collects).
import { GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import { CniCode, CniError } from '../cni/errors.js';
import type { NetConf } from '../cni/netconf.js';
import { familyOf, hostCidr, MAIN_TABLE, type Op } from '../plan/ops.js';
import type { Deps } from './deps.js';
import { rpcFailure } from './ipam-errors.js';

export const GC_DEADLINE_MS = 10_000;

export interface ValidAttachment {
  containerID: string;
  ifname: string;
}

/** `cni.dev/valid-attachments` from the config; a missing list is empty (everything of the network is stale). */
export function validAttachments(raw: Readonly<Record<string, unknown>>): ValidAttachment[] {
  const list = raw['cni.dev/valid-attachments'];
  if (list === undefined || list === null) return [];
  const bad = () =>
    new CniError(
      CniCode.InvalidNetworkConfig,
      'cni.dev/valid-attachments must be a list of {"containerID": string, "ifname": string}',
      'this is set by the container runtime; check its CNI GC support',
    );
  if (!Array.isArray(list)) throw bad();
  return list.map((a: unknown) => {
    const o = a as Record<string, unknown> | null;
    if (!o || typeof o['containerID'] !== 'string' || typeof o['ifname'] !== 'string') throw bad();
    return { containerID: o['containerID'], ifname: o['ifname'] };
  });
}

/** Host-side state of a released address: the to-pod rule, the from-pod rule (any table), the main route. */
export function gcTeardown(ip: string): Op[] {
  const family = familyOf(ip);
  const cidr = hostCidr(ip);
  return [
    { op: 'ruleDelAll', ns: 'host', family, priority: 512, to: cidr, table: MAIN_TABLE },
    { op: 'ruleDelAll', ns: 'host', family, priority: 1536, from: cidr },
    { op: 'routeDel', ns: 'host', dst: cidr, table: MAIN_TABLE },
  ];
}

export async function cmdGc(conf: NetConf, deps: Deps): Promise<void> {
  const valid = validAttachments(conf.raw);
  const ipam = deps.ipam(conf.ipamdEndpoint);
  let released: string[];
  try {
    const reply = await ipam.gc(
      {
        NetworkName: conf.name,
        ValidAttachments: valid.map((a) => ({ ContainerID: a.containerID, IfName: a.ifname })),
        MinAgeSeconds: 0,
      },
      GC_DEADLINE_MS,
    );
    released = reply.Released.flatMap((r) => [r.IPv4Addr, r.IPv6Addr]).filter((ip) => ip !== '');
    deps.logger.info(
      { released: reply.Released, valid: valid.length },
      'GC: ipamd released stale allocations',
    );
  } catch (e) {
    if (e instanceof RpcError && e.code === GrpcStatus.UNIMPLEMENTED) {
      // An upstream ipamd has no GC service: nothing we can collect, and not the runtime's problem.
      deps.logger.warn({ err: e }, 'GC: ipamd does not implement garbage collection; skipped');
      return;
    }
    throw rpcFailure(e, 'gc command', conf.ipamdEndpoint);
  } finally {
    ipam.close();
  }
  if (released.length === 0) return;
  const exec = await deps.executor();
  try {
    for (const ip of released) for (const op of gcTeardown(ip)) await exec.apply(op, '');
  } finally {
    exec.close();
  }
}
