// `max-pods-calculator` program (upstream's max-pods-calculator.sh as a subcommand of the agent executable):
// prints the kubelet maxPods value for an instance type, from the bundled limits table; the instance type may
// come from IMDS (AWS_EC2_METADATA_SERVICE_ENDPOINT, default http://169.254.169.254). Messages and exit codes as
// upstream: the number on stdout and 0, or a message and 1.
import { writeSync } from 'node:fs';
import { imdsGet } from '@vpc-cni/init/imds';
import {
  CalculatorError,
  calculateMaxPods,
  instanceLimits,
  knownInstanceTypes,
} from '@vpc-cni/shared/limits';
import { HELP, MaxPodsUsageError, parseMaxPodsArgs } from './args.js';

export async function maxPodsCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  say: (fd: 1 | 2, line: string) => void,
): Promise<number> {
  try {
    const args = parseMaxPodsArgs(argv);
    if (args.help) {
      say(1, HELP);
      return 1; // as upstream's script
    }
    let instanceType = args.instanceType;
    if (args.instanceTypeFromImds) {
      const endpoint = env['AWS_EC2_METADATA_SERVICE_ENDPOINT'] ?? 'http://169.254.169.254';
      try {
        instanceType = await imdsGet('meta-data/instance-type', { endpoint, attempts: 3 });
      } catch (e) {
        say(2, `could not read the instance type from IMDS at ${endpoint}: ${(e as Error).message}`);
        return 1;
      }
    } else if (!instanceType) {
      say(1, 'You must specify an instance type to calculate max pods value.');
      return 1;
    }
    if (!args.cniVersion) {
      say(1, 'You must specify a CNI Version to use. Example - 1.7.5');
      return 1;
    }
    const limits = instanceLimits(instanceType as string);
    if (!limits) {
      say(
        2,
        `unknown instance type "${instanceType}": not in the bundled table of ${knownInstanceTypes().length} ` +
          'types (check the spelling, or use an image built with a newer table)',
      );
      return 1;
    }
    const pods = calculateMaxPods(limits, {
      instanceType: instanceType as string,
      cniVersion: args.cniVersion,
      customNetworking: args.customNetworking,
      prefixDelegation: args.prefixDelegation,
      ...(args.maxEni !== undefined ? { maxEni: args.maxEni } : {}),
      showMaxAllowed: args.showMaxAllowed,
    });
    say(1, String(pods));
    return 0;
  } catch (e) {
    if (e instanceof MaxPodsUsageError || e instanceof CalculatorError) {
      say(2, `max-pods-calculator: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

export function main(argv: string[]): Promise<number> {
  return maxPodsCommand(argv, process.env, (fd, line) => writeSync(fd, `${line}\n`));
}
