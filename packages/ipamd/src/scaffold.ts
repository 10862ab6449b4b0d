// Placeholder commands for daemon executables whose issues have not landed: --version and --help only.
import { VERSION } from '@vpc-cni/shared/version';

export function scaffold(name: string, purpose: string) {
  return async (argv: string[]): Promise<number> => {
    if (argv.includes('--version')) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    process.stdout.write(
      `${name} ${VERSION}\n${purpose}\nScaffolding: only --version and --help work in this build.\n`,
    );
    return argv.includes('--help') ? 0 : 2;
  };
}
