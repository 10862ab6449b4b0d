// `aws-vpc-cni` program (the aws-node container's entrypoint).
import { writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { startupFailureLine } from '@vpc-cni/shared/startup';
import { VERSION } from '@vpc-cni/shared/version';
import { runEntrypoint } from './run.js';

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version') || argv.includes('--help')) {
    writeSync(
      1,
      argv.includes('--version')
        ? `${VERSION}\n`
        : `aws-vpc-cni ${VERSION}: installs the CNI, starts ipamd, writes 10-aws.conflist.\n`,
    );
    return 0;
  }
  const dir = dirname(process.execPath);
  const sibling = join(dir, 'aws-k8s-agent');
  const say = (l: string) => writeSync(1, `aws-vpc-cni: ${l}\n`);
  try {
    return await runEntrypoint(process.env, {
      say,
      execDir: dir,
      agentCommand: existsSync(sibling) ? [sibling] : [process.execPath, 'aws-k8s-agent'],
    });
  } catch (e) {
    writeSync(2, `${startupFailureLine('aws-vpc-cni', e)}\n`);
    return 1;
  }
}
