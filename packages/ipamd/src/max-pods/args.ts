// Command line of the `max-pods-calculator` program: the flags of upstream's max-pods-calculator.sh. Pure.
export interface MaxPodsArgs {
  readonly help: boolean;
  readonly instanceType?: string;
  readonly instanceTypeFromImds: boolean;
  readonly cniVersion?: string;
  readonly customNetworking: boolean;
  readonly prefixDelegation: boolean;
  readonly maxEni?: number;
  readonly showMaxAllowed: boolean;
}

export class MaxPodsUsageError extends Error {}

export const HELP = [
  'usage: max-pods-calculator [options]',
  'Calculates maxPods value to be used when starting up the kubelet (offline, from the bundled instance table).',
  '-h,--help print this help.',
  '--instance-type Specify the instance type to calculate max pods value.',
  '--instance-type-from-imds Use this flag if the instance type should be fetched from IMDS.',
  '--cni-version Specify the version of the CNI (example - 1.7.5).',
  '--cni-custom-networking-enabled Use this flag to indicate if CNI custom networking mode has been enabled.',
  '--cni-prefix-delegation-enabled Use this flag to indicate if CNI prefix delegation has been enabled.',
  '--cni-max-eni specify how many ENIs should be used for prefix delegation. Defaults to using all ENIs per instance.',
  '--show-max-allowed Use this flag to show max number of Pods allowed to run in Worker Node. Otherwise the script will show the recommended value',
].join('\n');

export function parseMaxPodsArgs(argv: readonly string[]): MaxPodsArgs {
  let help = false;
  let instanceType: string | undefined;
  let instanceTypeFromImds = false;
  let cniVersion: string | undefined;
  let customNetworking = false;
  let prefixDelegation = false;
  let maxEni: number | undefined;
  let showMaxAllowed = false;
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new MaxPodsUsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    switch (a) {
      case '-h':
      case '--help':
        help = true;
        break;
      case '--instance-type':
        instanceType = value(i++, a);
        break;
      case '--instance-type-from-imds':
        instanceTypeFromImds = true;
        break;
      case '--cni-version':
        cniVersion = value(i++, a);
        break;
      case '--cni-custom-networking-enabled':
        customNetworking = true;
        break;
      case '--cni-prefix-delegation-enabled':
        prefixDelegation = true;
        break;
      case '--cni-max-eni': {
        const v = value(i++, a);
        if (!/^\d+$/.test(v) || Number(v) < 1)
          throw new MaxPodsUsageError(
            `--cni-max-eni must be a whole number of ENIs, at least 1 (got "${v}")`,
          );
        maxEni = Number(v);
        break;
      }
      case '--show-max-allowed':
        showMaxAllowed = true;
        break;
      default:
        // Upstream's script ignores what it does not know; a typo there silently changes the answer.
        throw new MaxPodsUsageError(`unknown argument "${a}" (see --help)`);
    }
  }
  return {
    help,
    ...(instanceType !== undefined ? { instanceType } : {}),
    instanceTypeFromImds,
    ...(cniVersion !== undefined ? { cniVersion } : {}),
    customNetworking,
    prefixDelegation,
    ...(maxEni !== undefined ? { maxEni } : {}),
    showMaxAllowed,
  };
}
