// ADD: ask ipamd for an address, wire the pod per the plan, roll everything back on failure
// (docs/architecture.md#one-pod-add).
import type { AddNetworkReply } from '@vpc-cni/shared/rpc';
import { CniCode, CniError, asCniError } from '../cni/errors.js';
import type { CniEnv } from '../cni/env.js';
import { parseK8sArgs } from '../cni/env.js';
import { requiresMultiNic, type NetConf } from '../cni/netconf.js';
import { formatResult } from '../cni/result.js';
import { planAdd, prewireOps, splitAtPolicy } from '../plan/add.js';
import type { Op } from '../plan/ops.js';
import { rollbackOps } from '../plan/teardown.js';
import { DEL_DEADLINE_MS, type Deps, type IpamClient, type OpExecutor } from './deps.js';
import { rpcFailure } from './ipam-errors.js';

async function applyAll(
  exec: OpExecutor,
  ops: readonly Op[],
  netns: string,
  applied: Op[],
  yieldBetween = false,
): Promise<void> {
  for (const op of ops) {
    applied.push(op); // recorded before it runs: a half-done op is undone too (undo ops tolerate "missing")
    await exec.apply(op, netns);
    if (yieldBetween) await yieldToIo();
  }
}

export async function cmdAdd(env: CniEnv, conf: NetConf, deps: Deps): Promise<string> {
  const log = deps.logger;
  let k8s;
  try {
    k8s = parseK8sArgs(env.args);
  } catch (e) {
    throw asCniError(e, 'add cmd: failed to load k8s config from arg');
  }
  log.info({ containerId: env.containerId, netns: env.netns, ifName: env.ifName, args: env.args }, 'ADD');
  const identity = {
    K8S_POD_NAME: k8s.K8S_POD_NAME,
    K8S_POD_NAMESPACE: k8s.K8S_POD_NAMESPACE,
    K8S_POD_INFRA_CONTAINER_ID: k8s.K8S_POD_INFRA_CONTAINER_ID,
    IfName: env.ifName,
    NetworkName: conf.name,
    ContainerID: env.containerId,
    ClientVersion: deps.version,
  };
  const ipam = deps.ipam(conf.ipamdEndpoint);
  const mac0 = deps.randomMac();
  const applied: Op[] = [];
  let exec: OpExecutor | undefined;
  const undo = async () => {
    if (exec) await rollback(exec, applied.splice(0), env.netns, deps);
  };
  try {
    // Ask ipamd first and wire the veth pair while it answers (ipamd may be waiting for an ENI).
    const pending = ipam.addNetwork(
      { ...identity, Netns: env.netns, RequiresMultiNICAttachment: requiresMultiNic(conf) },
      conf.ipamdTimeoutMs,
    );
    pending.catch(() => {}); // awaited below; no unhandled rejection meanwhile
    let prewireError: unknown;
    try {
      // The request leaves before the synchronous kernel work starts.
      await (ipam.connected?.() ?? yieldToIo());
      exec = await deps.executor();
      const pre = prewireOps({
        podNamespace: k8s.K8S_POD_NAMESPACE,
        podName: k8s.K8S_POD_NAME,
        ifName: env.ifName,
        vethPrefix: conf.vethPrefix,
        mtu: conf.mtu,
        hostMac: mac0,
      });
      await applyAll(exec, pre, env.netns, applied, true); // the ipamd call progresses in between
    } catch (e) {
      prewireError = e;
    }

    let reply: AddNetworkReply;
    try {
      reply = await pending;
    } catch (e) {
      await undo();
      throw rpcFailure(e, 'add cmd: Error received from AddNetwork gRPC call', conf.ipamdEndpoint);
    }
    if (!reply.Success) {
      await undo();
      throw new CniError(
        CniCode.Internal,
        'add cmd: failed to assign an IP address to container',
        'ipamd refused the request; its log /var/log/aws-routed-eni/ipamd.log says why',
      );
    }
    log.info({ reply }, 'AddNetwork reply');

    const release = async (why: string) => {
      try {
        await ipam.delNetwork({ ...identity, Reason: 'SetupNSFailed', K8S_POD_UID: '' }, DEL_DEADLINE_MS);
      } catch (e) {
        log.error({ err: e }, `could not release the address after ${why}`);
      }
    };
    const failed = async (e: unknown): Promise<never> => {
      log.error({ err: e, applied: applied.length }, 'wiring failed, rolling back');
      await undo();
      await release('a failed setup');
      throw asCniError(e, 'add command: failed to setup network');
    };
    if (prewireError !== undefined) return await failed(prewireError);

    let plan;
    try {
      plan = planAdd({
        reply,
        podNamespace: k8s.K8S_POD_NAMESPACE,
        podName: k8s.K8S_POD_NAME,
        ifName: env.ifName,
        netns: env.netns,
        vethPrefix: conf.vethPrefix,
        mtu: conf.mtu,
        sgMode: conf.podSGEnforcingMode,
        hostMacs: reply.IPAllocationMetadata.map((_, i) => (i === 0 ? mac0 : deps.randomMac())),
      });
    } catch (e) {
      await undo();
      await release('an unusable reply');
      throw e;
    }

    try {
      // The pre-wired ops are the plan's first ones unless the reply asked for another veth (strict branch pod).
      if (!startsWith(plan.ops, applied)) await undo();
      exec ??= await deps.executor();
      const rest = plan.ops.slice(applied.length);
      if (reply.NetworkPolicyMode === '') await applyAll(exec, rest, env.netns, applied);
      else {
        // The routes into the pod only once the agent's filters are on its veths (plan/add.ts splitAtPolicy).
        const { beforePolicy, afterPolicy } = splitAtPolicy(rest, plan.attachments);
        await applyAll(exec, beforePolicy, env.netns, applied);
        await enforcePolicy(deps, conf.npaEndpoint, k8s, reply, plan.attachments.length);
        await applyAll(exec, afterPolicy, env.netns, applied);
      }
    } catch (e) {
      return await failed(e);
    }
    return formatResult(plan.result, conf.cniVersion);
  } finally {
    exec?.close();
    ipam.close();
  }
}

const yieldToIo = () => new Promise<void>((r) => setImmediate(r));

function startsWith(ops: readonly Op[], prefix: readonly Op[]): boolean {
  return prefix.every((op, i) => JSON.stringify(op) === JSON.stringify(ops[i]));
}

async function rollback(exec: OpExecutor, applied: Op[], netns: string, deps: Deps): Promise<void> {
  for (const op of rollbackOps(applied)) {
    try {
      await exec.apply(op, netns);
    } catch (e) {
      deps.logger.error({ op, err: e }, 'rollback step failed');
    }
  }
}

/** Network policy strict/standard mode: the agent must confirm before the pod is reported ready. */
async function enforcePolicy(
  deps: Deps,
  endpoint: string,
  k8s: { K8S_POD_NAME: string; K8S_POD_NAMESPACE: string },
  reply: AddNetworkReply,
  count: number,
): Promise<void> {
  const np = deps.policy(endpoint);
  try {
    const ok = await np.enforce(k8s.K8S_POD_NAME, k8s.K8S_POD_NAMESPACE, reply.NetworkPolicyMode, count);
    if (!ok) throw new Error('the agent refused');
  } catch (e) {
    throw new CniError(
      CniCode.TryAgainLater,
      `failed to setup network policy: ${e instanceof Error ? e.message : String(e)}`,
      `is the network policy agent (aws-network-policy-agent) running? the plugin dials ${endpoint} (conflist "npaEndpoint", the agent's --npa-socket)`,
    );
  } finally {
    np.close();
  }
}

export type { IpamClient };
