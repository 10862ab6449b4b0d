// /healthz and /readyz on --health-probe-bind-addr (controller-runtime style: 200 "ok", else 500 naming the
// failed checks). healthz: the gRPC health service answers on the agent's socket. readyz: that, plus with network
// policy enabled the two global pins exist, /sys/fs/bpf is a writable bpffs, and the PolicyEndpoints are listed.
import { accessSync, constants, existsSync, statfsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Health, RpcClient, ServingStatus } from '@vpc-cni/shared/rpc';
import { NPA_HEALTH_SERVICE } from '../rpc/np-server.js';

export const BPF_FS_MAGIC = 0xcafe4a11;

export type Check = () => Promise<string | undefined>;

export function grpcSocketCheck(socket: string): Check {
  return async () => {
    const c = new RpcClient({ endpoint: `unix://${socket}`, deadlineMs: 5_000 });
    try {
      const r = await c.call(Health.Check, { service: NPA_HEALTH_SERVICE });
      return r.status === ServingStatus.SERVING ? undefined : `gRPC health is ${r.status}`;
    } catch (err) {
      return `gRPC health check on ${socket} failed: ${(err as Error).message}`;
    } finally {
      c.close();
    }
  };
}

export function bpfFsCheck(root: string): Check {
  return async () => {
    try {
      if (statfsSync(root).type !== BPF_FS_MAGIC) return `${root} is not a bpffs mount`;
      accessSync(root, constants.W_OK);
      return undefined;
    } catch (err) {
      return `${root}: ${(err as Error).message}`;
    }
  };
}

export function globalPinsCheck(root: string): Check {
  return async () => {
    const dir = `${root}/globals/aws/maps`;
    const missing = ['global_aws_conntrack_map', 'global_policy_events'].filter(
      (n) => !existsSync(`${dir}/${n}`),
    );
    return missing.length ? `missing pins in ${dir}: ${missing.join(', ')}` : undefined;
  };
}

export function healthHandler(checks: {
  healthz: Record<string, Check>;
  readyz: Record<string, Check>;
}): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const set = path === '/healthz' ? checks.healthz : path === '/readyz' ? checks.readyz : undefined;
    if (!set) {
      res.writeHead(404).end('not found\n');
      return;
    }
    void Promise.all(Object.entries(set).map(async ([name, check]) => [name, await check()] as const)).then(
      (results) => {
        const failed = results.filter(([, r]) => r !== undefined);
        if (failed.length === 0) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        else
          res
            .writeHead(500, { 'content-type': 'text/plain' })
            .end(failed.map(([n, r]) => `[-]${n} failed: ${r}`).join('\n') + '\n');
      },
    );
  };
}
