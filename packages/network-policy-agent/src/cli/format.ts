// aws-eks-na-cli output, with upstream's field names (runbooks grep for them). Pure: data in, lines out.
import type { Family } from '../datapath/contract.js';
import type { MapInfo, ProgInfo } from '../datapath/bpf-object.js';
import {
  CP_VALUE_SIZE,
  CT_VALUE_SIZE,
  NP_VALUE_SIZE,
  ctKeySize,
  decodeCpValue,
  decodeCtKey,
  decodeCtValue,
  decodeNpValue,
  decodeTrieKey,
  trieKeySize,
} from '../datapath/layout.js';
import type { MapDump, PinnedProgram } from './inspect.js';

const SEP = '='.repeat(88);
const STARS = '*******************************';
const BPF_MAP_TYPE_HASH = 1;
const BPF_MAP_TYPE_LRU_HASH = 9;
const BPF_MAP_TYPE_LPM_TRIE = 11;

export function protocolName(p: number): string {
  switch (p) {
    case 6:
      return 'TCP';
    case 17:
      return 'UDP';
    case 132:
      return 'SCTP';
    case 1:
      return 'ICMP';
    case 255:
      return 'RESERVED';
    case 254:
      return 'ANY PROTOCOL';
    default:
      return 'UNKNOWN';
  }
}

export function formatProgs(progs: readonly ProgInfo[]): string[] {
  const out = ['Programs currently loaded : '];
  for (const p of progs)
    out.push(`Type : ${p.type} ID : ${p.id} Associated maps count : ${p.mapIds.length}`, SEP);
  return out;
}

export function formatMaps(maps: readonly MapInfo[]): string[] {
  const out = ['Maps currently loaded : '];
  for (const m of maps)
    out.push(
      `Type : ${m.type} ID : ${m.id}`,
      `Keysize ${m.keySize} Valuesize ${m.valueSize} MaxEntries ${m.maxEntries}`,
      SEP,
    );
  return out;
}

export function formatLoaded(progs: readonly PinnedProgram[]): string[] {
  const out: string[] = [];
  for (const p of progs) {
    out.push(
      `PinPath:  ${p.pinPath}`,
      `Pod Identifier : ${p.key}  Direction : ${p.dir}`,
      `Prog ID:  ${p.progId}`,
      'Associated Maps -> ',
    );
    for (const m of p.maps) out.push(`Map Name:  ${m.name}`, `Map ID:  ${m.id}`);
    out.push(SEP);
  }
  return out;
}

const age = (lastSeen: bigint, now: bigint): string => {
  if (lastSeen === 0n) return 'never';
  const s = Number(now - lastSeen) / 1e9;
  return `${s.toFixed(1)}s ago`;
};

/** dump-maps (cp = dump-cp-maps). Throws an Error for map types/sizes this CLI cannot read. */
export function formatDump(d: MapDump, family: Family, opts: { cp: boolean; now: bigint }): string[] {
  const { info } = d;
  const out: string[] = [];
  if (d.entries.length === 0) return ['No Entries found, Empty map'];
  if (info.type === BPF_MAP_TYPE_LPM_TRIE) {
    const want = opts.cp ? CP_VALUE_SIZE : NP_VALUE_SIZE;
    if (info.keySize !== trieKeySize(family) || info.valueSize !== want)
      throw new Error(
        `map ${info.id} (${info.name}) is not a ${family} ${opts.cp ? 'cluster ' : ''}policy map (key ${info.keySize} B, value ${info.valueSize} B)${opts.cp ? '' : info.valueSize === CP_VALUE_SIZE ? '; use dump-cp-maps' : ''}`,
      );
    for (const [k, v] of d.entries) {
      out.push(family === 'ipv4' ? `Key: ${decodeTrieKey(k)}` : `Key : IP/Prefixlen - ${decodeTrieKey(k)} `);
      const entries = opts.cp ? decodeCpValue(v) : decodeNpValue(v);
      entries.forEach((e, i) => {
        out.push(family === 'ipv4' ? `Entry ${i}:` : `Value Entry : ${i}`);
        out.push(`Protocol  - ${protocolName(e.protocol)}`);
        if ('priority' in e) out.push(`Priority  - ${e.priority}`);
        out.push(`StartPort - ${e.startPort}`, `EndPort   - ${e.endPort}`);
      });
      out.push(STARS);
    }
  } else if (info.type === BPF_MAP_TYPE_LRU_HASH) {
    if (info.keySize !== ctKeySize(family) || info.valueSize !== CT_VALUE_SIZE)
      throw new Error(`map ${info.id} (${info.name}) is not a ${family} conntrack map`);
    for (const [k, v] of d.entries) {
      const ck = decodeCtKey(k, family);
      const cv = decodeCtValue(v);
      out.push(
        `Conntrack Key : Source IP - ${ck.srcIp} Source port - ${ck.srcPort} Dest IP - ${ck.destIp} Dest port - ${ck.destPort} Protocol - ${ck.protocol} Owner IP - ${ck.ownerIp} Ifindex - ${ck.ifindex}`,
        'Value : ',
        `Conntrack Val -  ${cv.val}`,
        `Last Seen (ns) -  ${cv.lastSeen}  (${age(cv.lastSeen, opts.now)})`,
        STARS,
      );
    }
  } else if (info.type === BPF_MAP_TYPE_HASH && info.keySize === 4 && info.valueSize === 1) {
    for (const [k, v] of d.entries) out.push(`Key :  ${k.readUInt32LE(0)}`, `State -  ${v[0]}`, STARS);
  } else {
    throw new Error(
      `map ${info.id} (${info.name}) has type ${info.type}: only policy, conntrack and pod state maps can be dumped`,
    );
  }
  if (family === 'ipv6' && info.type === BPF_MAP_TYPE_LPM_TRIE)
    out.unshift(`Walking map: ${info.name} (type=${info.type}, id=${info.id})`);
  out.push('Done reading all entries');
  return out;
}
