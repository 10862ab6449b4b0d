// DEL: idempotent teardown that never blocks pod deletion on something already gone
// (docs/architecture.md#one-pod-del).
import type { DelNetworkReply } from '@vpc-cni/shared/rpc';
import { CniCode, CniError, asCniError } from '../cni/errors.js';
import type { CniEnv, K8sArgs } from '../cni/env.js';
import { parseK8sArgs } from '../cni/env.js';
import type { NetConf } from '../cni/netconf.js';
import { parseResult, type CniResult } from '../cni/result.js';
import { isIPv4, isIPv6 } from '@vpc-cni/shared/ipmath';
import { containerIfName, dummyIfName } from '../names.js';
import { MAIN_TABLE, type Op } from '../plan/ops.js';
import { branchTeardown, ordinaryTeardown } from '../plan/teardown.js';
import { DEL_DEADLINE_MS, type Deps, type OpExecutor } from './deps.js';
import { isUnreachable, socketPath } from './ipam-errors.js';

const fail = (msg: string, details = '') => new CniError(CniCode.Internal, `del cmd: ${msg}`, details);
const stripPrefix = (cidr: string) => cidr.replace(/\/\d+$/, '');
const isIp = (ip: string) => isIPv4(ip) || isIPv6(ip);

/** A prevResult indexed once (first interface of each name; IPs per interface index), so DEL stays linear. */
interface PrevIndex {
  readonly byName: Map<string, number>;
  readonly ipsByIface: Map<number, string[]>;
}

function indexPrev(prev: CniResult): PrevIndex {
  const byName = new Map<string, number>();
  prev.interfaces.forEach((iface, i) => {
    if (!byName.has(iface.name)) byName.set(iface.name, i);
  });
  const ipsByIface = new Map<number, string[]>();
  for (const ip of prev.ips) {
    if (ip.interface === undefined) continue;
    const list = ipsByIface.get(ip.interface);
    if (list) list.push(stripPrefix(ip.address));
    else ipsByIface.set(ip.interface, [stripPrefix(ip.address)]);
  }
  return { byName, ipsByIface };
}

/** The IPs of the container interface `ifName` in a prevResult. */
function ipsOf(ix: PrevIndex, ifName: string): string[] {
  const idx = ix.byName.get(ifName);
  return idx === undefined ? [] : (ix.ipsByIface.get(idx) ?? []);
}

/**
 * Branch shortcut (docs/architecture.md#one-pod-del, step 1): returns the teardown ops, [] to do nothing, or
 * undefined to go on to ipamd.
 */
export function branchFromPrev(prev: CniResult | undefined, env: CniEnv, k8s: K8sArgs): Op[] | undefined {
  if (!prev) return undefined;
  const dummy = prev.interfaces.find((i) => i.name === dummyIfName(k8s.K8S_POD_NAMESPACE, k8s.K8S_POD_NAME));
  if (!dummy) return undefined;
  const vlan = Number(dummy.mac ?? '0');
  if (!Number.isInteger(vlan) || vlan < 0)
    throw fail(`failed to delete with prevResult: malformed vlanID in prevResult: ${dummy.mac}`);
  if (vlan === 0) return undefined;
  if (env.netns === '') return [];
  const ips = ipsOf(indexPrev(prev), env.ifName);
  if (ips.length !== 1 || !ips[0]) {
    throw fail(
      `failed to delete with prevResult: found ${ips.length} containerIPs for ${env.ifName} in prevResult`,
    );
  }
  return branchTeardown(ips[0], vlan);
}

/** One ordinary attachment as prevResult records it: its address, ENI table and veth pair. */
export interface PrevAttachment {
  readonly ip: string;
  readonly table: number;
  readonly hostIf: string;
  readonly contIf: string;
}

/** The ordinary (non-branch) attachments a prevResult records for this container; [] when it records none. */
export function attachmentsFromPrev(
  prev: CniResult | undefined,
  env: CniEnv,
  k8s: K8sArgs,
): PrevAttachment[] {
  if (!prev) return [];
  const ix = indexPrev(prev);
  const dummyIdx = ix.byName.get(dummyIfName(k8s.K8S_POD_NAMESPACE, k8s.K8S_POD_NAME));
  const dummy = dummyIdx === undefined ? undefined : prev.interfaces[dummyIdx];
  if (!dummy || (dummy.mac ?? '0') !== '0') return [];
  const device = Number(dummy.sandbox);
  if (!Number.isInteger(device)) return [];
  let table = device === 0 ? 254 : device + 1;
  const out: PrevAttachment[] = [];
  const n = Math.floor((prev.interfaces.length - 1) / 2);
  for (let k = 0; k < n; k++) {
    const contIf = containerIfName(env.ifName, k);
    const idx = ix.byName.get(contIf);
    if (idx === undefined) {
      if (k > 0) break; // attachments are numbered without gaps
      continue;
    }
    const iface = prev.interfaces[idx];
    const hostIf = prev.interfaces[idx - 1]?.name;
    const ips = ix.ipsByIface.get(idx) ?? [];
    if (!iface || !hostIf || ips.length !== 1 || !ips[0] || !isIp(ips[0])) continue;
    if (iface.mac) {
      const t = Number(iface.mac);
      if (!Number.isInteger(t) || t < 0 || t > 0xffffffff) return [];
      table = t;
    }
    out.push({ ip: ips[0], table, hostIf, contIf });
  }
  return out;
}

/** What the DEL-from-prevResult path reads from the kernel to tell its own state from another container's. */
export interface OwnershipView {
  /** Device of the host route to `<ip>` in `table`, if such a route exists. */
  hostRouteDev(ip: string, table: number): string | undefined;
  /** True iff host link `hostIf` is a veth whose peer is `contIf` inside this container's netns. */
  vethPairOwned(hostIf: string, contIf: string): boolean;
}

/**
 * Host cleanup from prevResult when ipamd cannot tell us (best effort), limited to what is provably this
 * container's: an address may already belong to another pod (ipamd released it on an earlier DEL and gave it
 * out again), so an attachment whose host route leads elsewhere is left alone. A route to this container's own
 * veth pair is removed with its rules; when no route is left (the veth went with the netns), the rules are.
 */
export function ordinaryFromPrev(
  atts: readonly PrevAttachment[],
  view: OwnershipView,
): { ops: Op[]; skipped: string[] } {
  const ops: Op[] = [];
  const skipped: string[] = [];
  for (const a of atts) {
    const dev = view.hostRouteDev(a.ip, MAIN_TABLE);
    if (dev !== undefined && !(dev === a.hostIf && view.vethPairOwned(a.hostIf, a.contIf))) {
      skipped.push(`${a.ip} (routed to ${dev})`);
      continue;
    }
    ops.push(...ordinaryTeardown(a.ip, a.table, dev));
  }
  return { ops, skipped };
}

/** Ops for what ipamd says the pod had. */
export function teardownFromReply(reply: DelNetworkReply, env: CniEnv): Op[] {
  const entries = reply.IPAllocationMetadata.filter((e) => e.IPv4Addr || e.IPv6Addr);
  if (entries.length === 0) return [];
  if (reply.PodVlanId !== 0) {
    const ip = entries[0]?.IPv4Addr || entries[0]?.IPv6Addr;
    return env.netns === '' || !ip ? [] : branchTeardown(ip, reply.PodVlanId);
  }
  return entries.flatMap((e) => ordinaryTeardown(e.IPv4Addr || e.IPv6Addr, e.RouteTableId));
}

/** Closes an executor readied in advance that ends up unused. */
async function discard(preloaded: Promise<OpExecutor> | undefined): Promise<void> {
  (await preloaded?.catch(() => undefined))?.close();
}

/** Applies the ops; a preloaded executor is used (or discarded when there is nothing to do). */
async function run(deps: Deps, ops: Op[], netns: string, preloaded?: Promise<OpExecutor>): Promise<void> {
  if (ops.length === 0) return discard(preloaded);
  const exec = await (preloaded ?? deps.executor());
  try {
    for (const op of ops) await exec.apply(op, netns);
  } finally {
    exec.close();
  }
}

/** Reads ownership from the kernel, then removes only this container's host routes and rules. */
async function cleanFromPrev(
  deps: Deps,
  atts: readonly PrevAttachment[],
  netns: string,
  preloaded?: Promise<OpExecutor>,
): Promise<void> {
  if (atts.length === 0) return discard(preloaded);
  const view = await deps.view(netns);
  let plan: { ops: Op[]; skipped: string[] };
  try {
    plan = ordinaryFromPrev(atts, view);
  } finally {
    view.close();
  }
  if (plan.skipped.length > 0)
    deps.logger.warn(
      { addresses: plan.skipped.slice(0, 10), count: plan.skipped.length },
      'not removing host routes and rules that now belong to another container',
    );
  await run(deps, plan.ops, netns, preloaded);
}

export async function cmdDel(env: CniEnv, conf: NetConf, deps: Deps): Promise<void> {
  const log = deps.logger;
  let k8s: K8sArgs;
  try {
    k8s = parseK8sArgs(env.args);
  } catch (e) {
    throw asCniError(e, 'del cmd: failed to load k8s config from args');
  }
  log.info({ containerId: env.containerId, netns: env.netns, ifName: env.ifName, args: env.args }, 'DEL');
  let prev: CniResult | undefined;
  if (conf.prevResult) {
    try {
      prev = parseResult(conf.prevResult, conf.cniVersion);
    } catch (e) {
      log.warn({ err: e }, 'ignoring unparsable prevResult on DEL');
    }
  }
  const branchOps = branchFromPrev(prev, env, k8s);
  if (branchOps) {
    try {
      await run(deps, branchOps, env.netns);
    } catch (e) {
      throw asCniError(e, 'del cmd: failed to delete with prevResult');
    }
    return;
  }

  const ipam = deps.ipam(conf.ipamdEndpoint);
  let reply: DelNetworkReply;
  // The kernel side (koffi, netlink sockets) is readied while ipamd answers; closed below if unused.
  let preloaded: Promise<OpExecutor> | undefined;
  try {
    const pending = ipam.delNetwork(
      {
        K8S_POD_NAME: k8s.K8S_POD_NAME,
        K8S_POD_NAMESPACE: k8s.K8S_POD_NAMESPACE,
        K8S_POD_INFRA_CONTAINER_ID: k8s.K8S_POD_INFRA_CONTAINER_ID,
        K8S_POD_UID: k8s.K8S_POD_UID,
        NetworkName: conf.name,
        ContainerID: env.containerId,
        IfName: env.ifName,
        ClientVersion: deps.version,
        Reason: 'PodDeleted',
      },
      DEL_DEADLINE_MS,
    );
    pending.catch(() => {}); // awaited just below
    await (ipam.connected?.() ?? Promise.resolve());
    preloaded = deps.executor();
    preloaded.catch(() => {});
    reply = await pending;
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    if (text.includes('datastore: unknown pod')) return discard(preloaded); // already released (second DEL)
    log.warn({ err: text }, 'DelNetwork failed, cleaning the host side from prevResult');
    try {
      await cleanFromPrev(deps, attachmentsFromPrev(prev, env, k8s), env.netns, preloaded);
    } catch (e2) {
      log.warn({ err: e2 }, 'best-effort cleanup failed');
    }
    // The address is still allocated in ipamd: ask the runtime to retry so it is not leaked.
    throw new CniError(
      CniCode.TryAgainLater,
      `del cmd: the pod's address could not be released: ${text}`,
      isUnreachable(e)
        ? `ipamd is not listening on ${socketPath(conf.ipamdEndpoint)}; the host side was cleaned and the runtime will retry. Is the aws-node pod running?`
        : 'the host side was cleaned; check /var/log/aws-routed-eni/ipamd.log',
    );
  } finally {
    ipam.close();
  }
  if (!reply.Success) {
    await discard(preloaded);
    throw fail('failed to process delete request', 'check /var/log/aws-routed-eni/ipamd.log');
  }
  try {
    await run(deps, teardownFromReply(reply, env), env.netns, preloaded);
  } catch (e) {
    throw asCniError(e, 'del cmd: failed on tear down pod network');
  }
  if (reply.NetworkPolicyMode !== '') {
    const np = deps.policy(conf.npaEndpoint);
    try {
      await np.deletePod(k8s.K8S_POD_NAME, k8s.K8S_POD_NAMESPACE);
    } catch (e) {
      log.warn({ err: e }, 'network policy agent unreachable on DEL; continuing');
    } finally {
      np.close();
    }
  }
}
