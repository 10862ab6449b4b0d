// GC (CNI 1.1): what the plugin asks ipamd, which host state it removes for released addresses, and errors.
import { describe, expect, it } from 'vitest';
import { GarbageCollectReply, GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import type { GarbageCollectRequest } from '@vpc-cni/shared/rpc';
import { silentLogger } from '@vpc-cni/shared/logging';
import { cmdGc, validAttachments } from '../src/commands/gc.js';
import type { Deps } from '../src/commands/deps.js';
import { parseNetConf } from '../src/cni/netconf.js';
import type { Op } from '../src/plan/ops.js';

function deps(gc: (req: GarbageCollectRequest) => GarbageCollectReply | Error) {
  const seen: GarbageCollectRequest[] = [];
  const applied: Op[] = [];
  const d: Deps = {
    version: 'test',
    logger: silentLogger,
    ipam: () => ({
      addNetwork: () => Promise.reject(new Error('unused')),
      delNetwork: () => Promise.reject(new Error('unused')),
      health: async () => true,
      gc: async (req) => {
        seen.push(req);
        const r = gc(req);
        if (r instanceof Error) throw r;
        return r;
      },
      close: () => {},
    }),
    policy: () => ({ enforce: async () => true, deletePod: async () => {}, close: () => {} }),
    executor: async () => ({ apply: async (op) => void applied.push(op), close: () => {} }),
    view: () => Promise.reject(new Error('GC reads no pod state')),
    randomMac: () => '02:00:00:00:00:01',
  };
  return { d, seen, applied };
}

const conf = (attachments: unknown) =>
  parseNetConf(
    JSON.stringify({ cniVersion: '1.1.0', name: 'aws-cni', 'cni.dev/valid-attachments': attachments }),
  );

describe('GC', () => {
  it('sends the network name and every valid attachment, then removes host state of released addresses', async () => {
    const w = deps(() =>
      GarbageCollectReply.fromPartial({
        Success: true,
        Released: [
          { ContainerID: 'gone1', IfName: 'eth0', IPv4Addr: '10.0.1.9' },
          { ContainerID: 'gone2', IfName: 'eth0', IPv6Addr: '2001:db8::9' },
        ],
      }),
    );
    await cmdGc(
      conf([
        { containerID: 'c1', ifname: 'eth0' },
        { containerID: 'c2', ifname: 'eth1' },
      ]),
      w.d,
    );
    expect(w.seen).toEqual([
      {
        NetworkName: 'aws-cni',
        MinAgeSeconds: 0,
        ValidAttachments: [
          { ContainerID: 'c1', IfName: 'eth0' },
          { ContainerID: 'c2', IfName: 'eth1' },
        ],
      },
    ]);
    expect(w.applied).toEqual([
      { op: 'ruleDelAll', ns: 'host', family: 4, priority: 512, to: '10.0.1.9/32', table: 254 },
      { op: 'ruleDelAll', ns: 'host', family: 4, priority: 1536, from: '10.0.1.9/32' },
      { op: 'routeDel', ns: 'host', dst: '10.0.1.9/32', table: 254 },
      { op: 'ruleDelAll', ns: 'host', family: 6, priority: 512, to: '2001:db8::9/128', table: 254 },
      { op: 'ruleDelAll', ns: 'host', family: 6, priority: 1536, from: '2001:db8::9/128' },
      { op: 'routeDel', ns: 'host', dst: '2001:db8::9/128', table: 254 },
    ]);
  });

  it('an upstream ipamd without the GC service is not an error and changes nothing', async () => {
    const w = deps(() => new RpcError(GrpcStatus.UNIMPLEMENTED, 'unknown service', 'GarbageCollect'));
    await expect(cmdGc(conf([]), w.d)).resolves.toBeUndefined();
    expect(w.applied).toEqual([]);
  });

  it('ipamd unreachable is "try again later" (11) naming the socket', async () => {
    const w = deps(() => new RpcError(GrpcStatus.UNAVAILABLE, 'connect ENOENT', 'GarbageCollect'));
    await expect(cmdGc(conf([]), w.d)).rejects.toMatchObject({
      code: 11,
      message: expect.stringMatching(
        /gc command: ipamd is not listening on \/var\/run\/aws-node\/ipamd.sock/,
      ),
    });
  });

  it('a malformed valid-attachments list is an invalid-config error before any call', async () => {
    const w = deps(() => GarbageCollectReply.fromPartial({ Success: true }));
    for (const bad of [{}, 'x', [{ containerID: 1, ifname: 'eth0' }], [{ containerID: 'a' }]]) {
      await expect(cmdGc(conf(bad), w.d)).rejects.toMatchObject({ code: 7 });
    }
    expect(w.seen).toEqual([]);
    expect(validAttachments({})).toEqual([]);
  });
});
