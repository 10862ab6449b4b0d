// Run-time statistics of loaded programs (run count, total ns inside the program), for `pnpm bench netpol`:
// what the datapath costs per packet, measured by the kernel rather than inferred from throughput. The kernel
// only counts while some process holds a BPF_ENABLE_STATS fd (it costs two clock reads per run, node-wide), so
// a measurement enables them, reads, and closes the fd.
import { closeFd, fdById } from './bpf-object.js';
import { check, libbpf } from './libbpf.js';

const BPF_STATS_RUN_TIME = 0;

export interface ProgRunStats {
  runCount: bigint;
  runTimeNs: bigint;
}

/** Turns run-time statistics on until the returned function is called. */
export function enableRunStats(): () => void {
  const fd = check(
    libbpf().enableStats(BPF_STATS_RUN_TIME),
    'MAP_OP_FAILED',
    'bpf_enable_stats(BPF_STATS_RUN_TIME)',
  );
  return () => closeFd(fd);
}

// struct bpf_prog_info (uapi): run_time_ns at 192, run_cnt at 200.
export function progRunStats(progId: number): ProgRunStats {
  const fd = fdById('prog', progId);
  try {
    const info = Buffer.alloc(256);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(info.length, 0);
    check(libbpf().objInfo(fd, info, len), 'MAP_OP_FAILED', `bpf_obj_get_info_by_fd(prog ${progId})`);
    return { runTimeNs: info.readBigUInt64LE(192), runCount: info.readBigUInt64LE(200) };
  } finally {
    closeFd(fd);
  }
}
