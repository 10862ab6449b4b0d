// Wire compatibility: our generated codecs against @grpc/proto-loader (protobufjs) reading the same .proto
// text, both directions, for every message with every field set.
import { describe, expect, it } from 'vitest';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { CNIBackend, ConfigServerBackend, Health, NPBackend, type UnaryMethod } from './services.js';

const protoDir = fileURLToPath(new URL('./proto/', import.meta.url));
const pkg = loadSync(['rpc.proto', 'health.proto'], {
  includeDirs: [protoDir, '/usr/include'],
  keepCase: true,
  defaults: false,
  longs: Number,
  enums: Number,
});

interface LoaderMethod {
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): unknown;
  responseSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): unknown;
}
const loaderMethod = (path: string): LoaderMethod => {
  const [, service, name] = /^\/(.+)\/(.+)$/.exec(path) ?? [];
  const def = pkg[service as string] as unknown as Record<string, LoaderMethod>;
  return def[name as string] as LoaderMethod;
};

const alloc = (n: number) => ({
  IPv4Addr: `10.0.${n}.7`,
  IPv6Addr: `2001:db8::${n}`,
  DeviceNumber: n,
  RouteTableId: 2 + n,
});
// Every field set to a non-default value, per message.
const samples: Array<[UnaryMethod<unknown, unknown>, unknown, unknown]> = [
  [
    CNIBackend.AddNetwork as UnaryMethod<unknown, unknown>,
    {
      K8S_POD_NAME: 'web-1',
      K8S_POD_NAMESPACE: 'default',
      K8S_POD_INFRA_CONTAINER_ID: 'abc123',
      Netns: '/var/run/netns/cni-1',
      IfName: 'eth0',
      NetworkName: 'aws-cni',
      ContainerID: 'abc123',
      ClientVersion: 'v1.2.3',
      RequiresMultiNICAttachment: true,
    },
    {
      Success: true,
      IPAllocationMetadata: [alloc(1), alloc(2)],
      UseExternalSNAT: true,
      VPCv4CIDRs: ['10.0.0.0/16', '100.64.0.0/16'],
      PodVlanId: 3,
      PodENIMAC: '0a:1b:2c:3d:4e:5f',
      PodENISubnetGW: '10.0.32.1',
      ParentIfIndex: 4,
      VPCv6CIDRs: ['2001:db8::/56'],
      NetworkPolicyMode: 'standard',
    },
  ],
  [
    CNIBackend.DelNetwork as UnaryMethod<unknown, unknown>,
    {
      K8S_POD_NAME: 'web-1',
      K8S_POD_NAMESPACE: 'default',
      K8S_POD_INFRA_CONTAINER_ID: 'abc123',
      Reason: 'PodDeleted',
      IfName: 'eth0',
      NetworkName: 'aws-cni',
      ContainerID: 'abc123',
      ClientVersion: 'v1.2.3',
      K8S_POD_UID: '7f0e-uid',
    },
    { Success: true, IPAllocationMetadata: [alloc(5)], PodVlanId: 9, NetworkPolicyMode: 'strict' },
  ],
  [
    NPBackend.EnforceNpToPod as UnaryMethod<unknown, unknown>,
    { K8S_POD_NAME: 'p', K8S_POD_NAMESPACE: 'ns', NETWORK_POLICY_MODE: 'strict', InterfaceCount: 2 },
    { Success: true },
  ],
  [
    NPBackend.DeletePodNp as UnaryMethod<unknown, unknown>,
    { K8S_POD_NAME: 'p', K8S_POD_NAMESPACE: 'ns' },
    { Success: true },
  ],
  [
    ConfigServerBackend.GetNetworkPolicyConfigs as UnaryMethod<unknown, unknown>,
    {},
    {
      NetworkPolicyMode: 'standard',
      MultiNICEnabled: true,
      NodeIPv4: '10.0.0.10',
      NodeIPv6: '2001:db8::10',
      InstanceID: 'i-0123456789abcdef0',
      Region: 'us-west-2',
    },
  ],
  [Health.Check as UnaryMethod<unknown, unknown>, { service: 'grpc.health.v1.aws-node' }, { status: 1 }],
];

describe('rpc wire format matches proto-loader on the same .proto', () => {
  for (const [m, request, reply] of samples) {
    it(`${m.path} request and reply, both directions`, () => {
      const lm = loaderMethod(m.path);
      // ours -> theirs
      const reqBytes = Buffer.from(m.request.encode(request).finish());
      expect(lm.requestDeserialize(reqBytes)).toEqual(request);
      const resBytes = Buffer.from(m.response.encode(reply).finish());
      expect(lm.responseDeserialize(resBytes)).toEqual(reply);
      // theirs -> ours
      expect(m.request.decode(lm.requestSerialize(request))).toEqual(m.request.fromPartial(request as never));
      expect(m.response.decode(lm.responseSerialize(reply))).toEqual(m.response.fromPartial(reply as never));
      // and the bytes agree exactly (same field order, same encoding)
      expect(Buffer.compare(lm.requestSerialize(request), reqBytes)).toBe(0);
      expect(Buffer.compare(lm.responseSerialize(reply), resBytes)).toBe(0);
    });
  }

  it('uses the upstream field numbers (AddNetworkReply.PodVlanId is field 7, varint)', () => {
    const bytes = CNIBackend.AddNetwork.response
      .encode(CNIBackend.AddNetwork.response.fromPartial({ PodVlanId: 5 }))
      .finish();
    expect(Array.from(bytes)).toEqual([(7 << 3) | 0, 5]);
    const del = CNIBackend.DelNetwork.request
      .encode(CNIBackend.DelNetwork.request.fromPartial({ K8S_POD_UID: 'u' }))
      .finish();
    expect(Array.from(del)).toEqual([(10 << 3) | 2, 1, 'u'.charCodeAt(0)]);
  });
});
