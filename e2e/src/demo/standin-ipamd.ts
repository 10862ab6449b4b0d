// Interim address source for the demo until ipamd (issue 5) and the EC2 simulator (issue 7) land: hands out
// addresses of one simulated primary ENI over the real gRPC contract, so the real aws-cni executable does real
// kernel wiring. It is labelled as a stand-in wherever the demo prints.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddNetworkReply, CNIBackend, DelNetworkReply, GrpcStatus, RpcError } from '@vpc-cni/shared/rpc';
import { RpcServer, ServingStatus } from '@vpc-cni/shared/rpc-server';

export class StandInIpamd {
  readonly dir = mkdtempSync(join(tmpdir(), 'vct-demo-ipamd-'));
  readonly socket = join(this.dir, 'ipamd.sock');
  private readonly free: string[];
  private readonly byKey = new Map<string, string>();
  private readonly server = new RpcServer({ unixSocket: this.socket });

  constructor(addresses: string[]) {
    this.free = [...addresses];
  }

  async start(): Promise<void> {
    this.server.addService(CNIBackend, {
      AddNetwork: async (req) => {
        const key = `${req.NetworkName}/${req.ContainerID}/${req.IfName}`;
        let ip = this.byKey.get(key);
        if (!ip) {
          ip = this.free.shift();
          if (!ip) return AddNetworkReply.fromPartial({ Success: false });
          this.byKey.set(key, ip);
        }
        return AddNetworkReply.fromPartial({
          Success: true,
          IPAllocationMetadata: [{ IPv4Addr: ip, DeviceNumber: 0, RouteTableId: 254 }],
          VPCv4CIDRs: ['10.0.0.0/16'],
        });
      },
      DelNetwork: async (req) => {
        const key = `${req.NetworkName}/${req.ContainerID}/${req.IfName}`;
        const ip = this.byKey.get(key);
        if (!ip) throw new RpcError(GrpcStatus.UNKNOWN, 'datastore: unknown pod', 'DelNetwork');
        this.byKey.delete(key);
        this.free.push(ip);
        return DelNetworkReply.fromPartial({
          Success: true,
          IPAllocationMetadata: [{ IPv4Addr: ip, DeviceNumber: 0, RouteTableId: 254 }],
        });
      },
    });
    this.server.health.set('grpc.health.v1.aws-node', ServingStatus.SERVING);
    await this.server.start();
  }

  assigned(): number {
    return this.byKey.size;
  }

  async stop(): Promise<void> {
    await this.server.stop(1_000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
