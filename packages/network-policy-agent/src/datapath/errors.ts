// Typed errors of the datapath: each names what was attempted, the cause (errno name, libbpf's own log lines
// such as the verifier's output) and, where there is one, the remedy.
import { errnoName } from '@vpc-cni/shared/netlink';

export type DatapathErrorCode =
  | 'BPFFS_NOT_MOUNTED' // the pin root is not on a bpf filesystem
  | 'OBJECT_MISSING' // a compiled object file is not where the datapath looks
  | 'OBJECT_INVALID' // libbpf refused the object, or its maps do not have the expected layout
  | 'LOAD_FAILED' // bpf_object__load failed (verifier, pin mismatch, permissions)
  | 'VETH_MISSING' // a host veth named by the caller does not exist
  | 'ATTACH_FAILED' // clsact hook or filter could not be created/replaced
  | 'BAD_INPUT' // a key, CIDR or entry list the datapath cannot encode
  | 'UNKNOWN_KEY' // no pinned maps for this pod key
  | 'MAP_OP_FAILED' // a map update/delete/lookup failed
  | 'LIBBPF_MISSING' // libbpf.so.1 cannot be loaded
  | 'CONNTRACK_FAILED'; // the kernel conntrack table could not be read

const REMEDY: Partial<Record<DatapathErrorCode, string>> = {
  BPFFS_NOT_MOUNTED:
    'mount a bpf filesystem there (mount -t bpf bpffs /sys/fs/bpf; a hostPath in the DaemonSet)',
  OBJECT_MISSING:
    'build the eBPF objects (pnpm build; they need clang) or point the datapath at their directory',
  LIBBPF_MISSING: 'install libbpf1 (Debian package libbpf1, listed in scripts/apt/bpf.txt)',
  VETH_MISSING: 'the pod network is not wired yet (or the veth prefix differs from the plugin\u2019s)',
};

export class DatapathError extends Error {
  constructor(
    readonly code: DatapathErrorCode,
    message: string,
    readonly errno?: number,
    /** libbpf's log lines printed during the failed call (verifier output on a load failure). */
    readonly libbpfLog: readonly string[] = [],
  ) {
    const cause = errno ? `: ${errnoName(errno)}` : '';
    const remedy = REMEDY[code] ? ` (${REMEDY[code]})` : '';
    const log = libbpfLog.length ? `\nlibbpf: ${libbpfLog.slice(-20).join('\nlibbpf: ')}` : '';
    super(`${message}${cause}${remedy}${log}`);
    this.name = 'DatapathError';
  }
}

export const isDatapathError = (e: unknown, code?: DatapathErrorCode): e is DatapathError =>
  e instanceof DatapathError && (code === undefined || e.code === code);
