// The production adapters: ipamd and the policy agent over the light HTTP/2 gRPC client, the kernel executor.
import { closeSync, openSync, readSync } from 'node:fs';
import {
  CNIBackend,
  CNIGarbageCollector,
  Health,
  NPBackend,
  RpcClient,
  IPAMD_HEALTH_SERVICE,
  ServingStatus,
  type Target,
} from '@vpc-cni/shared/rpc';
import type { Logger } from '@vpc-cni/shared/logging';
import { ffiUnixTransport } from '@vpc-cni/shared/rpc/ffi-transport';
import type { Deps, IpamClient, OpExecutor, PolicyClient } from './commands/deps.js';

const NPA_DEADLINE_MS = 2_000;

/** ipamd and the policy agent listen on unix sockets: reached through libc, without node:net (~3 ms). */
const viaLibc = (t: Target) => ('socketPath' in t ? ffiUnixTransport(t.socketPath) : undefined);

export function ipamClient(endpoint: string): IpamClient {
  const c = new RpcClient({ endpoint, transport: viaLibc });
  return {
    addNetwork: (req, deadlineMs) => c.call(CNIBackend.AddNetwork, req, { deadlineMs }),
    delNetwork: (req, deadlineMs) => c.call(CNIBackend.DelNetwork, req, { deadlineMs }),
    gc: (req, deadlineMs) => c.call(CNIGarbageCollector.GarbageCollect, req, { deadlineMs }),
    health: async (deadlineMs) =>
      (await c.call(Health.Check, { service: IPAMD_HEALTH_SERVICE }, { deadlineMs })).status ===
      ServingStatus.SERVING,
    connected: () => c.connected(),
    close: () => c.close(),
  };
}

export function policyClient(endpoint: string): PolicyClient {
  const c = new RpcClient({ endpoint, deadlineMs: NPA_DEADLINE_MS, transport: viaLibc });
  return {
    enforce: async (name, ns, mode, count) =>
      (
        await c.call(NPBackend.EnforceNpToPod, {
          K8S_POD_NAME: name,
          K8S_POD_NAMESPACE: ns,
          NETWORK_POLICY_MODE: mode,
          InterfaceCount: count,
        })
      ).Success,
    deletePod: async (name, ns) => {
      await c.call(NPBackend.DeletePodNp, { K8S_POD_NAME: name, K8S_POD_NAMESPACE: ns });
    },
    close: () => c.close(),
  };
}

/**
 * Locally administered unicast MAC (docs/architecture.md#pod-wiring), from /dev/urandom (node:crypto would
 * add ~3 ms to every start).
 */
export function randomMac(): string {
  const b = Buffer.alloc(6);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, b, 0, 6, null);
  } finally {
    closeSync(fd);
  }
  b[0] = ((b[0] ?? 0) | 0x02) & 0xfe;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Test hook: the executor fails its `failAtOp`-th apply (1-based), to prove a failed ADD leaves nothing. */
function failingAt(exec: OpExecutor, failAtOp: number): OpExecutor {
  let n = 0;
  return {
    close: () => exec.close(),
    apply: async (op, netns) => {
      n += 1;
      if (n === failAtOp) throw new Error(`injected failure at op ${n} (${op.op})`);
      await exec.apply(op, netns);
    },
  };
}

export function realDeps(version: string, logger: Logger, failAtOp = 0): Deps {
  return {
    version,
    logger,
    ipam: ipamClient,
    policy: policyClient,
    // Loaded on first use so VERSION/STATUS never pay for koffi's native addon.
    executor: async () => {
      const { netlinkExecutor } = await import('./exec-netlink.js');
      return failAtOp > 0 ? failingAt(netlinkExecutor(), failAtOp) : netlinkExecutor();
    },
    view: async (podNetns) => (await import('./inspect-netlink.js')).netlinkView(podNetns),
    randomMac,
  };
}
