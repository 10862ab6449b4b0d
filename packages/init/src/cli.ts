// aws-vpc-cni-init entry (called by the aws-k8s-agent multi-call executable under this name).
import { writeSync } from 'node:fs';
import { startupFailureLine } from '@vpc-cni/shared/startup';
import { VERSION } from '@vpc-cni/shared/version';
import { defaultExecDir, runInit } from './run.js';

const HELP = `aws-vpc-cni-init ${VERSION}
Prepares a node for the VPC CNI (init container): installs the CNI executables into HOST_CNI_BIN_PATH,
sets rp_filter/tcp_early_demux/IPv6 sysctls, mounts bpffs when missing. Configured by environment variables
(see the README's configuration table). Exit 0 on success, 1 with a message on any failure.`;

export async function main(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  if (argv.includes('--version')) {
    writeSync(1, `${VERSION}\n`);
    return 0;
  }
  if (argv.includes('--help')) {
    writeSync(1, `${HELP}\n`);
    return 0;
  }
  try {
    await runInit(env, {
      say: (l) => writeSync(1, `aws-vpc-cni-init: ${l}\n`),
      execDir: defaultExecDir(),
    });
    writeSync(1, 'aws-vpc-cni-init: node prepared\n');
    return 0;
  } catch (e) {
    writeSync(2, `${startupFailureLine('aws-vpc-cni-init', e)}\n`);
    return 1;
  }
}
