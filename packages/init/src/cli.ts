// aws-vpc-cni-init: scaffolding until the init issue lands (installs binaries, sysctls, bpffs).
import { VERSION } from '@vpc-cni/shared/version';

const HELP = `aws-vpc-cni-init ${VERSION}
Prepares a node for the VPC CNI: installs the CNI executables, sets sysctls, mounts bpffs.
Scaffolding: only --version and --help work in this build.`;

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  process.stdout.write(`${HELP}\n`);
  return argv.includes('--help') ? 0 : 2;
}
