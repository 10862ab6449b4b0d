// DEL: idempotent teardown that never blocks pod deletion on something already gone
// (docs/architecture.md#one-pod-del).
import type { DelNetworkReply } from '@vpc-cni/shared/rpc';
import { CniCode, CniError, asCniError } from '../cni/errors.js';
import type { CniEnv, K8sArgs } from '../cni/env.js';
import { parseK8sArgs } from '../cni/env.js';
import type { NetConf } from '../cni/netconf.js';
import { parseResult, type CniResult } from '../cni/result.js';
import { containerIfName, dummyIfName } from '../names.js';
import type { Op } from '../plan/ops.js';
import { branchTeardown, ordinaryTeardown } from '../plan/teardown.js';
import { DEL_DEADLINE_MS, type Deps, type OpExecutor } from './deps.js';
import { isUnreachable, socketPath } from './ipam-errors.js';

const fail = (msg: string, details = '') => new CniError(CniCode.Internal, `del cmd: ${msg}`, details);
const stripPrefix = (cidr: string) => cidr.replace(/\/\d+$/, '');

/** The IPs of the container interface `ifName` in a prevResult. */
function ipsOf(prev: CniResult, ifName: string): string[] {
  const idx = prev.interfaces.findIndex((i) => i.name === ifName);
  if (idx < 0) return [];
  return prev.ips.filter((ip) => ip.interface === idx).map((ip) => stripPrefix(ip.address));
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
  const ips = ipsOf(prev, env.ifName);
  if (ips.length !== 1 || !ips[0]) {
    throw fail(
      `failed to delete with prevResult: found ${ips.length} containerIPs for ${env.ifName} in prevResult`,
    );
  }
  return branchTeardown(ips[0], vlan);
}

/** Host cleanup from prevResult when ipamd cannot tell us (docs/architecture.md#one-pod-del, best effort). */
export function ordinaryFromPrev(prev: CniResult | undefined, env: CniEnv, k8s: K8sArgs): Op[] {
  if (!prev) return [];
  const dummy = prev.interfaces.find((i) => i.name === dummyIfName(k8s.K8S_POD_NAMESPACE, k8s.K8S_POD_NAME));
  if (!dummy || (dummy.mac ?? '0') !== '0') return [];
  const device = Number(dummy.sandbox);
  if (!Number.isInteger(device)) return [];
  let table = device === 0 ? 254 : device + 1;
  const ops: Op[] = [];
  const n = Math.floor((prev.interfaces.length - 1) / 2);
  for (let k = 0; k < n; k++) {
    const name = containerIfName(env.ifName, k);
    const iface = prev.interfaces.find((i) => i.name === name);
    const ips = ipsOf(prev, name);
    if (!iface || ips.length !== 1 || !ips[0]) continue;
    if (iface.mac) {
      const t = Number(iface.mac);
      if (!Number.isInteger(t)) return [];
      table = t;
    }
    ops.push(...ordinaryTeardown(ips[0], table));
  }
  return ops;
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
      await run(deps, ordinaryFromPrev(prev, env, k8s), env.netns, preloaded);
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
    const np = deps.policy();
    try {
      await np.deletePod(k8s.K8S_POD_NAME, k8s.K8S_POD_NAMESPACE);
    } catch (e) {
      log.warn({ err: e }, 'network policy agent unreachable on DEL; continuing');
    } finally {
      np.close();
    }
  }
}
