// aws-vpc-cni-init, step by step (docs/architecture.md#node-bootstrap): install the CNI executables, find the
// primary interface by the MAC IMDS reports, set the node sysctls, make sure bpffs is mounted. Every step
// says what it did; the first failure stops the run with a message naming the cause.
import { dirname } from 'node:path';
import { loadInitConfig, type InitConfig } from '@vpc-cni/shared/config';
import { Netlink } from '@vpc-cni/shared/netlink';
import { ensureBpffs } from './bpffs.js';
import { imdsUnreachable } from '@vpc-cni/shared/startup';
import { imdsGet } from './imds.js';
import { installBinaries } from './install.js';
import { applySysctls, sysctlPlan } from './sysctls.js';

export interface InitIo {
  say(line: string): void;
  /** Directory of the running executable (the default source of the binaries). */
  execDir: string;
}

export function primaryInterfaceByMac(mac: string): string {
  const nl = Netlink.open();
  try {
    const links = nl.link.list();
    const link = links.find((l) => l.mac?.toLowerCase() === mac.toLowerCase());
    if (!link)
      throw new Error(
        `no interface has the primary ENI's MAC ${mac} (IMDS meta-data/mac); interfaces: ${links
          .map((l) => `${l.name}=${l.mac ?? '-'}`)
          .join(', ')}`,
      );
    return link.name;
  } finally {
    nl.close();
  }
}

export async function runInit(env: Readonly<Record<string, string | undefined>>, io: InitIo): Promise<void> {
  const cfg: InitConfig = loadInitConfig(env);
  const src = cfg.VPC_CNI_SOURCE_BIN_DIR || io.execDir;
  for (const b of installBinaries(src, cfg.HOST_CNI_BIN_PATH))
    io.say(`installed ${b.name} (${b.bytes} bytes) into ${cfg.HOST_CNI_BIN_PATH}`);

  const mac = await imdsGet('meta-data/mac', { endpoint: cfg.AWS_EC2_METADATA_SERVICE_ENDPOINT }).catch(
    (e: unknown) => {
      throw imdsUnreachable(cfg.AWS_EC2_METADATA_SERVICE_ENDPOINT, e);
    },
  );
  const primaryIf = primaryInterfaceByMac(mac);
  io.say(`primary interface ${primaryIf} (${mac})`);

  const plan = sysctlPlan({
    primaryIf,
    disableTcpEarlyDemux: cfg.DISABLE_TCP_EARLY_DEMUX,
    enableIPv6: cfg.ENABLE_IPv6,
    enableV6Egress: cfg.ENABLE_V6_EGRESS,
  });
  for (const r of applySysctls(plan))
    io.say(r.skipped ? `sysctl ${r.key}: not present on this kernel, skipped` : `sysctl ${r.key}=${r.value}`);

  if (cfg.VPC_CNI_MOUNT_BPFFS) {
    const what = ensureBpffs(cfg.VPC_CNI_BPFFS_PATH);
    io.say(
      what === 'mounted'
        ? `mounted bpffs at ${cfg.VPC_CNI_BPFFS_PATH}`
        : `bpffs already mounted at ${cfg.VPC_CNI_BPFFS_PATH}`,
    );
  }
}

export const defaultExecDir = (): string => dirname(process.execPath);
