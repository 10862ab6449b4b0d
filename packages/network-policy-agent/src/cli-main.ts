// `aws-eks-na-cli` / `aws-eks-na-cli-v6`: inspect the pinned eBPF state on a node (see README.md, "Debugging a
// drop"). Upstream's command tree: `ebpf progs|p`, `ebpf maps|m`, `ebpf loaded-ebpfdata|e`,
// `ebpf dump-maps|d <mapID>`, `ebpf dump-cp-maps|dcp <mapID>` (IPv4 only). Our addition: `--bpffs-root <dir>`
// (default /sys/fs/bpf/globals/aws) to read pins somewhere else.
import type { Family } from './datapath/contract.js';
import { DEFAULT_PIN_ROOT } from './datapath/pins.js';
import { allMaps, allPrograms, dumpMap, pinnedPrograms } from './cli/inspect.js';
import { formatDump, formatLoaded, formatMaps, formatProgs } from './cli/format.js';

const USAGE = `Usage: aws-eks-na-cli [--bpffs-root <dir>] ebpf <command>
Commands:
  progs (p)                 every eBPF program loaded on the node
  maps (m)                  every eBPF map on the node
  loaded-ebpfdata (e)       the agent's pinned programs: pod identifier, direction, maps
  dump-maps (d) <mapID>     entries of a policy, conntrack or pod state map
  dump-cp-maps (dcp) <mapID> entries of a cluster policy map (IPv4 CLI only)
`;

export async function main(argv: string[], ipv6: boolean): Promise<number> {
  const out = (lines: string[]) => process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  const args = [...argv];
  let root = DEFAULT_PIN_ROOT;
  const i = args.indexOf('--bpffs-root');
  if (i >= 0) {
    const v = args[i + 1];
    if (!v) {
      process.stderr.write('--bpffs-root needs a directory\n');
      return 2;
    }
    root = v;
    args.splice(i, 2);
  }
  if (args[0] === '-h' || args[0] === '--help' || args[0] === 'help' || args.length === 0) {
    process.stdout.write(USAGE);
    return args.length === 0 ? 2 : 0;
  }
  if (args[0] !== 'ebpf') {
    process.stderr.write(`unknown command "${args[0]}"\n${USAGE}`);
    return 2;
  }
  const family: Family = ipv6 ? 'ipv6' : 'ipv4';
  const [cmd, arg] = args.slice(1);
  const mapId = (): number => {
    const n = Number(arg);
    if (!arg || !Number.isInteger(n) || n <= 0)
      throw new Error(`a map ID (a positive integer) is required, got "${arg ?? ''}"`);
    return n;
  };
  try {
    switch (cmd) {
      case 'progs':
      case 'p':
        out(formatProgs(allPrograms()));
        return 0;
      case 'maps':
      case 'm':
        out(formatMaps(allMaps()));
        return 0;
      case 'loaded-ebpfdata':
      case 'e':
        out(formatLoaded(pinnedPrograms(root)));
        return 0;
      case 'dump-maps':
      case 'd':
        out(formatDump(dumpMap(mapId()), family, { cp: false, now: process.hrtime.bigint() }));
        return 0;
      case 'dump-cp-maps':
      case 'dcp':
        if (ipv6) throw new Error('dump-cp-maps is not available in the IPv6 CLI');
        out(formatDump(dumpMap(mapId()), family, { cp: true, now: process.hrtime.bigint() }));
        return 0;
      default:
        process.stderr.write(`unknown ebpf command "${cmd ?? ''}"\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    process.stdout.write(`Failed to execute the cmd -  ${(e as Error).message}\n`);
    return 1;
  }
}
