// aws-eks-na-cli output shapes (upstream's field names), from map dumps built in memory; and the ctnetlink
// reply decoder used by conntrack GC.
import { describe, expect, it } from 'vitest';
import { encodeAttrs } from '@vpc-cni/shared/netlink';
import { PROTO_DENY, PROTO_TCP } from '../datapath/contract.js';
import { encodeCtKey, encodeNpValue, encodeTrieKey } from '../datapath/layout.js';
import { decodeFlow } from '../datapath/nf-conntrack.js';
import { formatDump, formatLoaded, formatMaps, formatProgs, protocolName } from './format.js';

const info = (type: number, keySize: number, valueSize: number) => ({
  type,
  id: 42,
  keySize,
  valueSize,
  maxEntries: 65536,
  flags: 1,
  name: 'ingress_map',
});

describe('aws-eks-na-cli output', () => {
  it('progs, maps and loaded-ebpfdata', () => {
    expect(formatProgs([{ type: 3, id: 7, name: 'handle_ingress', mapIds: [1, 2] }])).toEqual([
      'Programs currently loaded : ',
      'Type : 3 ID : 7 Associated maps count : 2',
      '='.repeat(88),
    ]);
    expect(formatMaps([info(11, 8, 288)])[2]).toBe('Keysize 8 Valuesize 288 MaxEntries 65536');
    expect(
      formatLoaded([
        {
          pinPath: '/p/k_handle_egress',
          key: 'k',
          dir: 'egress',
          progId: 9,
          maps: [{ name: 'egress_map', id: 3 }],
        },
      ]),
    ).toEqual([
      'PinPath:  /p/k_handle_egress',
      'Pod Identifier : k  Direction : egress',
      'Prog ID:  9',
      'Associated Maps -> ',
      'Map Name:  egress_map',
      'Map ID:  3',
      '='.repeat(88),
    ]);
  });

  it('dump-maps of a policy trie, v4 and v6', () => {
    const v = encodeNpValue(
      [
        { protocol: PROTO_TCP, startPort: 80, endPort: 0 },
        { protocol: PROTO_DENY, startPort: 0, endPort: 0 },
      ],
      'x',
    );
    const lines = formatDump(
      { info: info(11, 8, 288), entries: [[encodeTrieKey('10.0.0.0/8', 'ipv4'), v]] },
      'ipv4',
      { cp: false, now: 0n },
    );
    expect(lines).toEqual([
      'Key: 10.0.0.0/8',
      'Entry 0:',
      'Protocol  - TCP',
      'StartPort - 80',
      'EndPort   - 0',
      'Entry 1:',
      'Protocol  - RESERVED',
      'StartPort - 0',
      'EndPort   - 0',
      '*******************************',
      'Done reading all entries',
    ]);
    const v6 = formatDump(
      { info: info(11, 20, 288), entries: [[encodeTrieKey('fd00::/8', 'ipv6'), v]] },
      'ipv6',
      { cp: false, now: 0n },
    );
    expect(v6[0]).toBe('Walking map: ingress_map (type=11, id=42)');
    expect(v6[1]).toBe('Key : IP/Prefixlen - fd00::/8 ');
    expect(v6[2]).toBe('Value Entry : 0');
    expect(formatDump({ info: info(11, 8, 288), entries: [] }, 'ipv4', { cp: false, now: 0n })).toEqual([
      'No Entries found, Empty map',
    ]);
    expect(() =>
      formatDump({ info: info(2, 4, 4), entries: [[Buffer.alloc(4), Buffer.alloc(4)]] }, 'ipv4', {
        cp: false,
        now: 0n,
      }),
    ).toThrow(/only policy, conntrack and pod state maps/);
  });

  it('dump-maps of the conntrack map shows age or never', () => {
    const k = encodeCtKey(
      {
        srcIp: '10.0.0.1',
        srcPort: 5000,
        destIp: '10.0.0.2',
        destPort: 80,
        protocol: 6,
        ownerIp: '10.0.0.2',
        ifindex: 4,
      },
      'ipv4',
    );
    const v = Buffer.alloc(16);
    v.writeBigUInt64LE(5n, 0);
    v.writeBigUInt64LE(1_000_000_000n, 8);
    const lines = formatDump({ info: info(9, 24, 16), entries: [[k, v]] }, 'ipv4', {
      cp: false,
      now: 3_500_000_000n,
    });
    expect(lines.slice(0, 4)).toEqual([
      'Conntrack Key : Source IP - 10.0.0.1 Source port - 5000 Dest IP - 10.0.0.2 Dest port - 80 Protocol - 6 Owner IP - 10.0.0.2 Ifindex - 4',
      'Value : ',
      'Conntrack Val -  5',
      'Last Seen (ns) -  1000000000  (2.5s ago)',
    ]);
    expect(protocolName(254)).toBe('ANY PROTOCOL');
    expect(protocolName(47)).toBe('UNKNOWN');
  });
});

describe('ctnetlink reply decoding', () => {
  it('decodes the original and reply tuples (nested attributes, ports in network order)', () => {
    const be16 = (n: number) => {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(n, 0);
      return b;
    };
    const tuple = (src: number[], dst: number[], sport: number, dport: number) =>
      encodeAttrs([
        {
          type: 1 | 0x8000,
          value: encodeAttrs([
            { type: 1, value: Buffer.from(src) },
            { type: 2, value: Buffer.from(dst) },
          ]),
        },
        {
          type: 2 | 0x8000,
          value: encodeAttrs([
            { type: 1, value: Buffer.from([6]) },
            { type: 2, value: be16(sport) },
            { type: 3, value: be16(dport) },
          ]),
        },
      ]);
    const payload = Buffer.concat([
      Buffer.from([2, 0, 0, 0]),
      encodeAttrs([
        { type: 1 | 0x8000, value: tuple([10, 0, 0, 1], [172, 20, 0, 10], 5000, 80) },
        { type: 2 | 0x8000, value: tuple([10, 0, 0, 9], [10, 0, 0, 1], 8080, 5000) },
      ]),
    ]);
    expect(decodeFlow(payload)).toEqual({
      orig: { src: '10.0.0.1', dst: '172.20.0.10', proto: 6, sport: 5000, dport: 80 },
      reply: { src: '10.0.0.9', dst: '10.0.0.1', proto: 6, sport: 8080, dport: 5000 },
    });
  });
});
